// Tokenizer module: see README.md for its role.
