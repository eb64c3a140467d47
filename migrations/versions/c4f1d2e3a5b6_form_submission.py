"""form submissions: a creating form sent twice is done once

Revision ID: c4f1d2e3a5b6
Revises: b9e8d7c6f5a4
Create Date: 2026-12-04 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'c4f1d2e3a5b6'
down_revision = 'b9e8d7c6f5a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_submission',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=120), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('result_url', sa.String(length=2000), nullable=True),
    sa.Column('created_at', bbtraining.db_types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_form_submission_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_form_submission'))
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_submission_user_id'))

    op.drop_table('form_submission')
