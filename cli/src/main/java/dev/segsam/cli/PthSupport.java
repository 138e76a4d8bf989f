package dev.segsam.cli;

import dev.segsam.io.pth.PthFile;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.nio.file.Path;

/** Opens a PyTorch checkpoint with the restricted reader of {@code io}. */
final class PthSupport {
    private PthSupport() {}

    static ModelFiles.Opened open(Path p) throws IOException {
        PthFile f = PthFile.open(p);
        return new ModelFiles.Opened() {
            public TensorSource source() {
                return f;
            }

            public void close() {
                f.close();
            }
        };
    }
}
