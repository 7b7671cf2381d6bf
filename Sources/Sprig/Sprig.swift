// Sprig module: see README.md for its role.
