package dev.segsam.tensor.contract;

import dev.segsam.tensor.Backend;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.autodiff.Tape;
import dev.segsam.tensor.fast.FastCpuBackend;
import dev.segsam.tensor.fast.Sgemm;
import java.util.ArrayList;
import java.util.List;

/**
 * The backend contract on core-tensor's other backends: the fast CPU backend (Vector API kernels) and the autodiff
 * tape's recording backend over the reference, whose forward values (its own attention included) must match the
 * reference too. The tape's inputs are parameters, so every op takes its recording path.
 */
class CpuContractTest extends BackendContract {

    @Override
    protected List<Target> targets() {
        List<Target> t = new ArrayList<>();
        if (Sgemm.available()) { // OpsGoldenTest fails where it is not
            // the PyTorch goldens of the fast backend run in OpsGoldenTest
            t.add(Target.of("fast-cpu", Precision.FP32, new FastCpuBackend(), c -> true, false));
        }
        t.add(tape());
        return t;
    }

    /** The tape over the reference; a resized rel-pos table has no gradient, so the tape refuses it as a tracked input. */
    static Target tape() {
        return new Target() {
            @Override
            public String name() {
                return "autodiff-tape";
            }

            @Override
            public Precision precision() {
                return Precision.FP32;
            }

            @Override
            public boolean runs(OpCase c) {
                return !c.tags().contains(OpCase.RESIZED_REL_POS);
            }

            @Override
            public Session open() {
                Tape tape = new Tape(new CpuBackend());
                return new Session() {
                    @Override
                    public Backend backend() {
                        return tape.backend();
                    }

                    @Override
                    public Tensor input(Tensor host) {
                        return host == null ? null : tape.param(host.copy());
                    }

                    @Override
                    public Tensor download(Tensor t) {
                        return t.copy(); // the tape frees its tensors on close
                    }

                    @Override
                    public void close() {
                        tape.close();
                    }
                };
            }

            @Override
            public String toString() {
                return name();
            }
        };
    }
}
