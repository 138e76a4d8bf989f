package dev.segsam.tensor.contract;

/** The arithmetic of a backend under test, which picks the tolerance of each {@link OpCase}. */
public enum Precision {
    /** float32 everywhere (sums possibly in another order than the reference). */
    FP32,
    /** Products on TF32 tensor cores: inputs rounded to 10-bit mantissas, fp32 sums. */
    TF32
}
