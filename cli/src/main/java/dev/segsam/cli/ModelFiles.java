package dev.segsam.cli;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.tensor.TensorSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/** Opens model weights by file name: {@code .safetensors}, or PyTorch {@code .pth}/{@code .pt}. */
final class ModelFiles {
    private ModelFiles() {}

    /** A weights file held open (its tensors may be memory-mapped views); close it when done with the model. */
    interface Opened extends AutoCloseable {
        TensorSource source();

        @Override
        void close();
    }

    static Opened open(Path p) throws IOException {
        if (!Files.exists(p)) throw new NoSuchFileException(p.toString());
        if (Files.isDirectory(p)) throw new IOException(p + " is a directory, not a model file");
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".safetensors")) {
            SafeTensorsFile f = SafeTensorsFile.open(p);
            return new Opened() {
                public TensorSource source() {
                    return f;
                }

                public void close() {
                    f.close();
                }
            };
        }
        if (n.endsWith(".pth") || n.endsWith(".pt") || n.endsWith(".bin")) {
            return PthSupport.open(p);
        }
        throw new IOException(p + ": unknown model format (expected .safetensors, .pth or .pt)");
    }
}
