package dev.segsam.tensor.contract;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A backend under test in the contract suite: its name, its {@link Precision}, which cases it runs, and how one case
 * runs on it ({@link #open}: inputs onto its device, results back to the host, everything freed afterwards).
 */
public interface Target {
    String name();

    Precision precision();

    /** Whether this target runs {@code c} (a slow target skips the large cases, an engine variant its family only). */
    boolean runs(OpCase c);

    /** Whether the PyTorch op goldens run on this target too (the CPU backends have them in OpsGoldenTest). */
    default boolean runsGoldens() {
        return true;
    }

    /** A fresh session for one case. */
    Session open();

    /** One case on the target: owns what it uploads and what the op returns, closed at the end. */
    interface Session extends AutoCloseable {
        Backend backend();

        /** The target-side copy of a host input (null stays null). */
        Tensor input(Tensor host);

        /** A host copy of a target tensor. */
        Tensor download(Tensor t);

        @Override
        void close();
    }

    /** A target whose inputs are {@link Backend#upload uploaded} and whose tensors are closed after each case. */
    static Target of(String name, Precision precision, Backend backend, Predicate<OpCase> runs, boolean goldens) {
        return new Target() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Precision precision() {
                return precision;
            }

            @Override
            public boolean runs(OpCase c) {
                return runs.test(c);
            }

            @Override
            public boolean runsGoldens() {
                return goldens;
            }

            @Override
            public Session open() {
                return new Session() {
                    final List<Tensor> owned = new ArrayList<>();
                    final List<Tensor> inputs = new ArrayList<>();

                    @Override
                    public Backend backend() {
                        return backend;
                    }

                    @Override
                    public Tensor input(Tensor host) {
                        if (host == null) return null;
                        Tensor t = backend.upload(host);
                        inputs.add(host);
                        if (t != host) {
                            owned.add(t);
                            inputs.add(t);
                        }
                        return t;
                    }

                    @Override
                    public Tensor download(Tensor t) {
                        // a result is freed with the session, unless it shares memory with an input (a view of it)
                        if (inputs.stream().noneMatch(i -> i.storage() == t.storage())) owned.add(t);
                        return backend.download(t);
                    }

                    @Override
                    public void close() {
                        for (Tensor t : owned) t.close();
                    }
                };
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }
}
