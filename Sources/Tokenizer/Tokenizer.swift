// Tokenizer module: byte-level BPE matching Hugging Face `tokenizers` on real
// vocabularies (Qwen2/Qwen3, SmolLM2, GPT-2, Llama-3 families).
//
// Pipeline of `BPETokenizer.encode`:
//   added tokens (raw text) → normaliser (NFC) → added tokens (normalised text)
//   → pre-tokenizer stages (Split regex scanners, Digits, ByteLevel) → BPE per
//   pre-token (cached) → post-processor ids.
// Files: TokenizerJSON.swift / TokenizerJSONParse.swift / TokenizerSpec.swift (loading;
// the JSON parser itself is the SprigJSON module),
// SplitPattern.swift / PreTokenizer.swift / CharClasses.swift (splitting),
// BPEModel.swift (merging), AddedTokens.swift, ChatTemplate.swift, StreamingDecoder.swift.
