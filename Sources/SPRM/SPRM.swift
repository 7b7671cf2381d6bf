// SPRM module: see README.md for its role.
