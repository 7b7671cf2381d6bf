// Tokenizer module: BPE matching Hugging Face `tokenizers` on real vocabularies: byte-level
// (Qwen2/Qwen3, SmolLM2, GPT-2, Llama-3 families) and SentencePiece-style (Llama 2, Mistral:
// "▁" for spaces, `<0xXX>` byte fallback), and llama.cpp's score-merging SPM tokenizer for
// GGUF vocabularies of `tokenizer.ggml.model` "llama".
//
// Pipeline of `BPETokenizer.encode`:
//   added tokens (raw text) → normalisers (NFC, Prepend, Replace) → added tokens (normalised
//   text) → pre-tokenizer stages (Split regex scanners, Digits, ByteLevel, Metaspace) → BPE
//   per pre-token (cached) → post-processor ids. GGUF SPM: added tokens → "▁"-escaped text
//   fragments → merge by piece score (SPMModel).
// Files: TokenizerJSON.swift / TokenizerJSONParse.swift / TokenizerSpec.swift (loading;
// the JSON parser itself is the SprigJSON module),
// SplitPattern.swift / PreTokenizer.swift / CharClasses.swift (splitting),
// BPEModel.swift (merging), SentencePiece.swift (decode rules, SPMModel), AddedTokens.swift,
// ChatTemplate.swift, StreamingDecoder.swift.
