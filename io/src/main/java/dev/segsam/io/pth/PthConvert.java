package dev.segsam.io.pth;

import dev.segsam.io.safetensors.DType;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.io.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts between PyTorch checkpoints and safetensors, tensor for tensor with dtypes, shapes and values unchanged
 * (float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool). Non-contiguous views in a
 * {@code .pth} become contiguous tensors. What a {@code .pth} reader skips (non-tensor entries, an optimizer) is not
 * converted and is reported in {@link Result#warnings()} (and logged); safetensors {@code __metadata__} has no place
 * in a {@code .pth} and is dropped with a warning. An existing output is replaced only when asked to, and never when it is
 * the input itself.
 */
public final class PthConvert {
    private PthConvert() {}

    /** What a conversion wrote: tensors, bytes of tensor data, and what was left out. */
    public record Result(int tensors, long bytes, List<String> warnings) {}

    /** Writes the state dict of {@code pth} (chosen as {@link PthFile#open(Path)} does) as a safetensors file. */
    public static Result toSafetensors(Path pth, Path out, boolean replace) throws IOException {
        checkTarget(pth, out, replace);
        try (PthFile f = PthFile.open(pth)) {
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
            long bytes = 0;
            for (PthTensorInfo t : f.infos()) {
                w.addRaw(t.name(), safetensorsType(t.dtype()), t.intShape(), f.bytes(t.name()));
                bytes += t.byteSize();
            }
            w.write(out, replace);
            return new Result(f.names().size(), bytes, f.warnings());
        }
    }

    /** Writes the tensors of a safetensors file as a PyTorch checkpoint (see {@link PthWriter}). */
    public static Result fromSafetensors(Path safetensors, Path out, boolean replace) throws IOException {
        checkTarget(safetensors, out, replace);
        try (SafeTensorsFile f = SafeTensorsFile.open(safetensors)) {
            PthWriter w = new PthWriter();
            long bytes = 0;
            for (TensorInfo t : f.infos()) {
                PthDType d = pthType(t.dtype());
                if (d == null) {
                    throw new IllegalArgumentException(safetensors + ": tensor \"" + t.name() + "\" is " + t.dtype()
                            + ", which has no PyTorch storage type segsam writes");
                }
                w.addRaw(t.name(), d, t.intShape(), f.bytes(t.name()));
                bytes += t.byteSize();
            }
            w.write(out, replace);
            List<String> warnings = new ArrayList<>();
            if (!f.metadata().isEmpty()) {
                warnings.add("dropped the safetensors __metadata__ (keys " + f.metadata().keySet() + "); a .pth has no place for it");
                System.getLogger("segsam").log(System.Logger.Level.WARNING, safetensors + ": " + warnings.getLast());
            }
            return new Result(f.names().size(), bytes, List.copyOf(warnings));
        }
    }

    private static void checkTarget(Path in, Path out, boolean replace) throws IOException {
        if (!Files.exists(out)) return;
        if (!replace) throw new FileAlreadyExistsException(out.toString(), null, "already exists; not replacing it");
        if (Files.exists(in) && Files.isSameFile(in, out)) {
            throw new FileAlreadyExistsException(out.toString(), null, "is the input file itself; not replacing it");
        }
    }

    /** The safetensors dtype with the same elements as a PyTorch storage type. */
    public static DType safetensorsType(PthDType d) {
        return switch (d) {
            case FLOAT64 -> DType.F64;
            case FLOAT32 -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            case INT64 -> DType.I64;
            case INT32 -> DType.I32;
            case INT16 -> DType.I16;
            case INT8 -> DType.I8;
            case UINT8 -> DType.U8;
            case BOOL -> DType.BOOL;
        };
    }

    /** The PyTorch type of a safetensors dtype, or null when PyTorch's legacy storages have none. */
    static PthDType pthType(DType d) {
        for (PthDType p : PthDType.values()) {
            if (safetensorsType(p) == d) return p;
        }
        return null;
    }
}
