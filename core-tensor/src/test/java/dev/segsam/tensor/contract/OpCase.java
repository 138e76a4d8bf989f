package dev.segsam.tensor.contract;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * One case of the backend contract: a {@link Backend} op on given inputs, compared between a backend under test and
 * the reference ({@link dev.segsam.tensor.CpuBackend}) with a tolerance that depends on the target's
 * {@link Precision}.
 *
 * @param op     the {@link Backend} method (for the coverage table), e.g. {@code linearGelu}
 * @param label  shapes and parameters, e.g. {@code [7, 33] · [65, 33]ᵀ + bias}
 * @param size   {@link Size#LARGE} cases are skipped by slow targets (the CUDA emulator)
 * @param inputs the host inputs (entries may be null: an absent bias), drawn from the case's own seeded generator
 * @param run    the op on a backend, given the inputs on its device: returns a {@link Tensor}, a {@link Backend.Windows}
 *               or an {@code int[]}
 * @param tol    how close the result must be
 * @param tags   extra facts a target may need to skip a case (see {@link #RESIZED_REL_POS})
 */
public record OpCase(String op, String label, Size size, Function<Random, Tensor[]> inputs, Op run, Tolerance tol, Set<String> tags) {

    /** A rel-pos table resized before the lookup: the autodiff tape has no gradient for it and refuses tracked inputs. */
    public static final String RESIZED_REL_POS = "resized-rel-pos";

    /** Whether the emulator runs a case. */
    public enum Size { SMALL, LARGE }

    /** The op under test. */
    @FunctionalInterface
    public interface Op {
        Object apply(Backend b, Tensor[] in);
    }

    /** The family of {@link #op}: {@code gemm}, {@code attention}, {@code elementwise} or {@code layout}. */
    public String family() {
        return switch (op) {
            case "matmul", "matmulNT", "linear", "linearGelu", "conv2d", "convTranspose2d" -> "gemm";
            case "attention", "multiHeadAttention", "encoderAttention", "attentionBackward" -> "attention";
            case "gelu", "relu", "sigmoid", "scale", "add", "sub", "mul", "div", "layerNorm", "layerNorm2d", "softmax",
                 "fourierPositionEncoding" -> "elementwise";
            default -> "layout";
        };
    }

    /** Fresh inputs: the same on every call (the seed is the case's name). */
    public Tensor[] freshInputs() {
        return inputs.apply(new Random(toString().hashCode()));
    }

    @Override
    public String toString() {
        return op + " " + label;
    }
}
