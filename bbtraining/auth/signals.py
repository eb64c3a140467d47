"""What accounts tell the layers above without knowing them."""

from blinker import Namespace

_signals = Namespace()

# sender: the User whose address was just verified (in the verifying transaction): whatever was
# waiting for that address, such as a training completed before there was an account, is theirs.
email_verified = _signals.signal("email-verified")
