"""The advisor role (adviseur) for kennismakingsgesprekken and advies-strippenkaarten

Revision ID: b2c4e6a8d0f1
Revises: f1a8c3d5e7b9
Create Date: 2026-12-05 09:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b2c4e6a8d0f1'
down_revision = 'f1a8c3d5e7b9'
branch_labels = None
depends_on = None

ROLES = "role IN ('admin', 'trainer', 'facilitator', 'client', 'advisor')"
OLD_ROLES = "role IN ('admin', 'trainer', 'facilitator', 'client')"


def upgrade():
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', ROLES)


def downgrade():
    op.execute("DELETE FROM user_role WHERE role = 'advisor'")
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', OLD_ROLES)
