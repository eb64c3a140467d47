"""alumni match follow-up: staff remind an alumnus, close a request with a reason

Revision ID: a7c3e9d1f2b4
Revises: f1a2b3c4d5e6
Create Date: 2026-12-05 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'a7c3e9d1f2b4'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alumni_match_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', bbtraining.db_types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_alumni_match_request_closed_by_id_user'),
            'user', ['closed_by_id'], ['id'], ondelete='SET NULL',
        )
    with op.batch_alter_table('alumni_match_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', bbtraining.db_types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('alumni_match_recipient', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
    with op.batch_alter_table('alumni_match_request', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_alumni_match_request_closed_by_id_user'), type_='foreignkey'
        )
        batch_op.drop_column('closed_by_id')
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_at')
