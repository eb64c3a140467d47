"""The pages of inhouse bookings, by audience: `public` (the request form), `account` (the
client's pages under /account/) and `admin` (staff pages under /admin/). Routes are on
`bookings.bp`; the package `bbtraining.bookings.inhouse` imports all three."""
