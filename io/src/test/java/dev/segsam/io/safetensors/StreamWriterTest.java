package dev.segsam.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.segsam.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SafeTensorsStreamWriter: what it writes reads back (with the reader used for every file), and giving up leaves nothing. */
class StreamWriterTest {
    @TempDir
    Path dir;

    List<String> files() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void tensorsAddedOneByOneReadBack() throws Exception {
        Path f = dir.resolve("out.safetensors");
        float[][] values = new float[50][];
        try (SafeTensorsStreamWriter w = new SafeTensorsStreamWriter(f)) {
            w.metadata("model", "m.safetensors");
            for (int i = 0; i < values.length; i++) {
                values[i] = new float[3 * (i + 1)];
                for (int k = 0; k < values[i].length; k++) values[i][k] = i * 1000 + k - 0.5f;
                try (Tensor t = Tensor.of(values[i], 3, i + 1)) {
                    w.add("t." + i, t);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> w.add("t.0", Tensor.zeros(1)));
            w.finish(false);
        }
        try (SafeTensorsFile r = SafeTensorsFile.open(f)) {
            assertEquals("m.safetensors", r.metadata().get("model"));
            assertEquals(50, r.names().size());
            for (int i = 0; i < values.length; i++) {
                assertArrayEquals(new int[] {3, i + 1}, r.info("t." + i).intShape());
                assertArrayEquals(values[i], r.get("t." + i).toArray());
            }
        }
        assertEquals(List.of("out.safetensors"), files());
    }

    @Test
    void givingUpLeavesNoFile() throws Exception {
        try (SafeTensorsStreamWriter w = new SafeTensorsStreamWriter(dir.resolve("x.safetensors"))) {
            w.add("a", Tensor.zeros(1000));
        }
        assertEquals(List.of(), files());
    }
}
