"""login throttle: failed logins per e-mail address

Revision ID: b9e8d7c6f5a4
Revises: d2b1ad2b7a52
Create Date: 2026-12-04 19:10:00

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'b9e8d7c6f5a4'
down_revision = 'd2b1ad2b7a52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', bbtraining.db_types.UTCDateTime(), nullable=False),
    sa.Column('locked_until', bbtraining.db_types.UTCDateTime(), nullable=True),
    sa.Column('owner_notified_at', bbtraining.db_types.UTCDateTime(), nullable=True),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_login_throttle_failures_not_negative')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
