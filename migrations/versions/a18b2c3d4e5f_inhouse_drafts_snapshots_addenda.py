"""inhouse proposals: drafts, a frozen snapshot per sent version, addenda for extra sessions

Revision ID: a18b2c3d4e5f
Revises: a18e5ea70001
Create Date: 2026-12-05 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'a18b2c3d4e5f'
down_revision = 'a18e5ea70001'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('open', 'superseded', 'accepted', 'declined', 'expired', 'withdrawn')"
NEW_STATUSES = (
    "status IN ('draft', 'open', 'superseded', 'accepted', 'declined', 'expired', 'withdrawn')"
)


def upgrade():
    with op.batch_alter_table('inhouse_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', bbtraining.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('accepted_at', bbtraining.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('accepted_by_name', sa.String(length=200), nullable=True))
        batch_op.drop_constraint(op.f('ck_inhouse_proposal_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', NEW_STATUSES)
    # Versions sent before drafts existed were sent when they were made.
    op.execute("UPDATE inhouse_proposal SET sent_at = created_at")
    # An accepted version says by whom and when; the booking knew it already.
    op.execute(
        "UPDATE inhouse_proposal SET "
        "accepted_at = (SELECT b.accepted_at FROM inhouse_booking b "
        "WHERE b.id = inhouse_proposal.booking_id), "
        "accepted_by_name = (SELECT u.name FROM inhouse_booking b JOIN \"user\" u "
        "ON u.id = b.accepted_by_id WHERE b.id = inhouse_proposal.booking_id) "
        "WHERE status = 'accepted'"
    )

    op.create_table('inhouse_addendum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('created_at', bbtraining.db_types.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', bbtraining.db_types.UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_name', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'accepted', 'included', 'withdrawn')", name=op.f('ck_inhouse_addendum_status_known')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_inhouse_addendum_number_positive')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_inhouse_addendum_quantity_positive')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_inhouse_addendum_unit_price_not_negative')),
    sa.CheckConstraint('vat_rate >= 0 AND vat_rate <= 100', name=op.f('ck_inhouse_addendum_vat_rate_range')),
    sa.ForeignKeyConstraint(['booking_id'], ['inhouse_booking.id'], name=op.f('fk_inhouse_addendum_booking_id_inhouse_booking'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['training_session.id'], name=op.f('fk_inhouse_addendum_session_id_training_session'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_inhouse_addendum_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_inhouse_addendum_decided_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inhouse_addendum')),
    sa.UniqueConstraint('booking_id', 'number', name='uq_inhouse_addendum_number')
    )
    with op.batch_alter_table('inhouse_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inhouse_addendum_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inhouse_addendum_session_id'), ['session_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inhouse_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inhouse_addendum_session_id'))
        batch_op.drop_index(batch_op.f('ix_inhouse_addendum_booking_id'))
    op.drop_table('inhouse_addendum')

    op.execute("DELETE FROM inhouse_proposal WHERE status = 'draft'")
    with op.batch_alter_table('inhouse_proposal', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_inhouse_proposal_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', OLD_STATUSES)
        batch_op.drop_column('accepted_by_name')
        batch_op.drop_column('accepted_at')
        batch_op.drop_column('snapshot')
        batch_op.drop_column('sent_at')
