"""Alumni search: travel provinces and languages as bit masks on the profile, and a covering
visible-profiles index, so the counts per province are one index-only scan (#16)

Revision ID: c16a9e5b7d21
Revises: d5f8a2c4e6b0
Create Date: 2026-12-05 13:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c16a9e5b7d21'
down_revision = 'd5f8a2c4e6b0'
branch_labels = None
depends_on = None

VISIBLE = 'published AND NOT hidden_by_staff AND consented_at IS NOT NULL'
PROVINCE_CODES = (
    'groningen', 'friesland', 'drenthe', 'overijssel', 'flevoland', 'gelderland', 'utrecht',
    'noord-holland', 'zuid-holland', 'zeeland', 'noord-brabant', 'limburg',
)
LANGUAGE_CODES = (
    'nl', 'fy', 'en', 'de', 'fr', 'es', 'pt', 'pl', 'ro', 'bg', 'uk', 'ru', 'tr', 'ar', 'ber',
    'pap', 'srn', 'so', 'ti', 'fa', 'zh', 'dse',
)


def _mask_sql(table: str, column: str, codes: tuple[str, ...]) -> str:
    """The sum of the distinct bits of a profile's rows (bit i: codes[i])."""
    bits = ' '.join(f"WHEN '{code}' THEN {1 << i}" for i, code in enumerate(codes))
    return (
        f'COALESCE((SELECT SUM(CASE t.{column} {bits} ELSE 0 END) FROM {table} t '
        'WHERE t.profile_id = alumni_profile.id), 0)'
    )


def upgrade():
    with op.batch_alter_table('alumni_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('travel_mask', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('language_mask', sa.Integer(), server_default=sa.text('0'), nullable=False))
    # The rows are unique per profile and code, so the sum of the bits is the mask.
    op.execute(
        'UPDATE alumni_profile SET '
        f"travel_mask = {_mask_sql('alumni_travel_province', 'province', PROVINCE_CODES)}, "
        f"language_mask = {_mask_sql('alumni_language', 'language', LANGUAGE_CODES)}"
    )
    with op.batch_alter_table('alumni_profile', schema=None) as batch_op:
        batch_op.create_check_constraint('travel_mask_range', 'travel_mask >= 0 AND travel_mask < 4096')
        batch_op.create_check_constraint('language_mask_range', 'language_mask >= 0')
        batch_op.drop_index('ix_alumni_profile_visible', postgresql_where=sa.text(VISIBLE), sqlite_where=sa.text(VISIBLE))
        batch_op.create_index('ix_alumni_profile_visible', ['confirmed_at', 'province', 'travel_mask', 'language_mask', 'user_id', 'assemblies_count', 'years_experience', 'preferred_weekdays', 'id'], unique=False, postgresql_where=sa.text(VISIBLE), sqlite_where=sa.text(VISIBLE))


def downgrade():
    with op.batch_alter_table('alumni_profile', schema=None) as batch_op:
        batch_op.drop_index('ix_alumni_profile_visible', postgresql_where=sa.text(VISIBLE), sqlite_where=sa.text(VISIBLE))
        batch_op.create_index('ix_alumni_profile_visible', ['confirmed_at'], unique=False, postgresql_where=sa.text(VISIBLE), sqlite_where=sa.text(VISIBLE))
        batch_op.drop_constraint(op.f('ck_alumni_profile_language_mask_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_alumni_profile_travel_mask_range'), type_='check')
        batch_op.drop_column('language_mask')
        batch_op.drop_column('travel_mask')
