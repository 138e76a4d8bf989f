package dev.segsam.tensor.contract;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Compare;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Golden;
import dev.segsam.tensor.OpsGoldenTest;
import dev.segsam.tensor.Tensor;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backend contract: every case of {@link OpCases#ALL} on every {@link Target} of a subclass, against the reference
 * {@link CpuBackend} on the same inputs, with the case's tolerance for the target's precision; then the PyTorch op
 * goldens on the targets that take them. One subclass per module that owns backends: core-tensor runs the fast CPU
 * backend and the autodiff tape, kernels the CUDA backend on its CPU emulator and on a real GPU.
 *
 * <p>Each case also checks that the op left its inputs untouched (as {@link Backend} promises).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendContract {
    protected final Backend reference = new CpuBackend();
    private List<Target> targets;

    /** The backends under test; called once, after the subclass's {@code @BeforeAll} set-up. */
    protected abstract List<Target> targets();

    private List<Target> cachedTargets() {
        if (targets == null) targets = targets();
        return targets;
    }

    public Stream<Arguments> cases() {
        return cachedTargets().stream().flatMap(t -> OpCases.ALL.stream().filter(t::runs).map(c -> Arguments.of(t.name() + ": " + c, t, c)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    public void matchesTheReference(String name, Target target, OpCase c) {
        Tensor[] host = c.freshInputs();
        Tensor[] before = new Tensor[host.length];
        for (int i = 0; i < host.length; i++) before[i] = host[i] == null ? null : host[i].copy();
        Object expected = c.run().apply(reference, host);
        try (Target.Session s = target.open()) {
            Tensor[] in = new Tensor[host.length];
            for (int i = 0; i < host.length; i++) in[i] = s.input(host[i]);
            Object actual = toHost(s, c.run().apply(s.backend(), in));
            c.tol().check(expected, actual, reference, c, host, target.precision(), name);
            for (int i = 0; i < in.length; i++) {
                if (in[i] != null) Compare.exact(before[i], s.download(in[i]), name + ": input " + i + " unchanged");
            }
        }
    }

    private static Object toHost(Target.Session s, Object out) {
        return switch (out) {
            case Tensor t -> s.download(t);
            case Backend.Windows w -> new Backend.Windows(s.download(w.windows()), w.paddedH(), w.paddedW());
            case int[] ix -> ix;
            default -> throw new IllegalStateException("op result of type " + out.getClass());
        };
    }

    public Stream<Arguments> goldens() {
        return cachedTargets().stream().filter(Target::runsGoldens)
                .flatMap(t -> OpsGoldenTest.CASES.stream().map(c -> Arguments.of(t.name() + ": " + c, t, c)));
    }

    /** GEMM-shaped goldens sum in another order than PyTorch's CPU GEMM: the fp32 GEMM bound 1e-4 there. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    public void matchesPyTorch(String name, Target target, Golden.Case c) {
        boolean gemmish = List.of("matmul", "linear", "conv2d", "conv_transpose2d", "attention").contains(c.op());
        try (Target.Session s = target.open()) {
            OpsGoldenTest.check(c, s.backend(), gemmish ? 1e-4 : 1e-5, gemmish ? 1e-5 : 1e-6);
        }
    }

    /**
     * Every op of {@link Backend} (the fused default methods included) has cases, and the coverage of this class's
     * targets is printed as a table (op × target: number of cases).
     */
    @Test
    public void everyOpHasCasesAndTheCoverageIsListed() {
        Set<String> ops = OpCases.ALL.stream().map(OpCase::op).collect(Collectors.toCollection(TreeSet::new));
        Set<String> missing = new TreeSet<>();
        for (Method m : Backend.class.getDeclaredMethods()) {
            if (m.isSynthetic() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) continue;
            if (Set.of("name", "device", "parallel", "upload", "download", "zeros").contains(m.getName())) continue;
            if (!ops.contains(m.getName())) missing.add(m.getName());
        }
        assertTrue(missing.isEmpty(), "Backend ops without a contract case: " + missing);
        StringBuilder sb = new StringBuilder("backend contract coverage (cases per op and target):\n");
        sb.append(String.format("%-30s", "op"));
        for (Target t : cachedTargets()) sb.append(String.format(" | %s", t.name()));
        sb.append('\n');
        Map<String, List<OpCase>> byOp = OpCases.ALL.stream().collect(Collectors.groupingBy(OpCase::op, TreeMap::new, Collectors.toList()));
        for (var e : byOp.entrySet()) {
            sb.append(String.format("%-30s", e.getKey() + " (" + e.getValue().size() + ")"));
            for (Target t : cachedTargets()) sb.append(String.format(" | %" + t.name().length() + "d", e.getValue().stream().filter(t::runs).count()));
            sb.append('\n');
        }
        System.out.print(sb);
    }
}
