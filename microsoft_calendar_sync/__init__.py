# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
# Skeleton stage: models, controllers and wizards are added by later work.
