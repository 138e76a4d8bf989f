package dev.segsam.io.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.TensorInfo;
import dev.segsam.tensor.Tensor;

/** safetensors: the JSON header (names, dtypes, shapes, offsets), then every tensor's data read. */
class SafeTensorsFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void safetensors(byte[] data) throws Exception {
        Invariant.check(".safetensors", data, p -> {
            try (SafeTensorsFile f = SafeTensorsFile.open(p)) {
                for (TensorInfo t : f.infos()) {
                    if (f.bytes(t.name()).byteSize() != t.byteSize()) throw new AssertionError(t + ": byte size");
                    // get() takes int dimensions (documented: larger ones are read with bytes())
                    if (t.dtype().isFloat() && t.numel() <= 1 << 20 && Invariant.intDims(t.shape())) {
                        try (Tensor x = f.get(t.name())) {
                            if (x.numel() != t.numel()) throw new AssertionError(t + ": numel");
                        }
                    } else if (t.dtype().isInteger() && t.numel() <= 1 << 20) {
                        if (f.longValues(t.name()).length != t.numel()) throw new AssertionError(t + ": numel");
                    }
                }
            }
        });
    }
}
