"""named seats of group enrollments: each colleague a participant of their own

Revision ID: a18e5ea70001
Revises: a7c3e9d1f2b4
Create Date: 2026-12-05 06:35:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'a18e5ea70001'
down_revision = 'a7c3e9d1f2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enrollment_seat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bbtraining.db_types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', bbtraining.db_types.UTCDateTime(), nullable=True),
    sa.CheckConstraint('position >= 1', name=op.f('ck_enrollment_seat_position_positive')),
    sa.CheckConstraint("status IN ('active', 'replaced', 'cancelled')", name=op.f('ck_enrollment_seat_status_known')),
    sa.CheckConstraint('(name IS NULL) = (email IS NULL)', name=op.f('ck_enrollment_seat_named_fully')),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_enrollment_seat_enrollment_id_enrollment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_enrollment_seat_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_seat'))
    )
    with op.batch_alter_table('enrollment_seat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_seat_enrollment_id'), ['enrollment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollment_seat_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_enrollment_seat_email', ['email'], unique=False)
        batch_op.create_index('uq_enrollment_seat_active_position', ['enrollment_id', 'position'], unique=True, postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))


def downgrade():
    with op.batch_alter_table('enrollment_seat', schema=None) as batch_op:
        batch_op.drop_index('uq_enrollment_seat_active_position', postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"))
        batch_op.drop_index('ix_enrollment_seat_email')
        batch_op.drop_index(batch_op.f('ix_enrollment_seat_user_id'))
        batch_op.drop_index(batch_op.f('ix_enrollment_seat_enrollment_id'))

    op.drop_table('enrollment_seat')
