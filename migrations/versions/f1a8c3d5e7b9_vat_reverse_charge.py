"""EU clients: VAT numbers checked at VIES, reverse-charge enrollments, proposals and invoices

Revision ID: f1a8c3d5e7b9
Revises: a18b2c3d4e5f
Create Date: 2026-12-05 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import bbtraining.db_types


# revision identifiers, used by Alembic.
revision = 'f1a8c3d5e7b9'
down_revision = 'a18b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vat_check',
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('checked_at', bbtraining.db_types.UTCDateTime(), nullable=True),
    sa.Column('attempted_at', bbtraining.db_types.UTCDateTime(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=True),
    sa.CheckConstraint("status IN ('valid', 'invalid', 'pending')", name=op.f('ck_vat_check_status_known')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_vat_check'))
    )
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('country', sa.String(length=2), server_default='NL', nullable=False))
        batch_op.add_column(sa.Column('vat_number', sa.String(length=20), nullable=True))
    for table in ('enrollment', 'invoice', 'inhouse_proposal'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('reverse_charge', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    for table in ('inhouse_proposal', 'invoice', 'enrollment'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('reverse_charge')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('vat_number')
        batch_op.drop_column('country')
    op.drop_table('vat_check')
