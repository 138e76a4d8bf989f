package dev.segsam.spark;

import dev.segsam.io.Checkpoint;
import dev.segsam.io.IoLimits;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dataset.SegmentationDataset;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * What the Spark tests share: one embedded {@code local[2]} session for every test class of the JVM (a session costs
 * 5-20 s to start), the embedded demo model and phantom slices as a tiny data set, and single-threaded CPU settings on
 * both sides, so the jobs and the single-machine reference compute the same products in the same order.
 */
final class TestSpark {
    private TestSpark() {}

    /** segsam.* settings of both the jobs and the references: the fast CPU path on one thread per task. */
    static final Map<String, String> PROPS = Map.of("segsam.device", "cpu", "segsam.cpu", "fast", "segsam.threads", "1");

    private static SparkSession session;
    private static Path data;

    static synchronized SparkSession spark() throws IOException {
        if (session == null) {
            Path wh = Files.createTempDirectory("segsam-spark-warehouse");
            session = SparkMain.localSession("local[2]", wh);
        }
        return session;
    }

    /** A folder with the demo model, the demo CT slice, two phantom slices as PNGs and a 3-slice phantom NIfTI (made once per JVM). */
    static synchronized Path data() throws IOException {
        if (data == null) {
            Path d = Files.createTempDirectory("segsam-spark-data");
            copy("segsam-demo.safetensors", d);
            copy("sample.png", d);
            try (SegmentationDataset ds = AbdomenPhantom.dataset(11, 2, 256)) {
                for (int i = 0; i < 2; i++) ImageFiles.writePng(ds.get(i).image(), d.resolve("phantom" + i + ".png"));
            }
            // a small CT volume: three 96 × 96 phantom slices in HU, as int16 NIfTI
            int n = 96;
            float[] hu = new float[3 * n * n];
            for (int z = 0; z < 3; z++) {
                short[] s = AbdomenPhantom.generate(21 + z, n).hu();
                for (int i = 0; i < n * n; i++) hu[z * n * n + i] = s[i];
            }
            try (Volume v = Volume.builder(Tensor.of(hu, 3, n, n)).spacing(0.8, 0.8, 2.5).build()) {
                NiftiWriter.write(d.resolve("phantoms.nii.gz"), v, NiftiDataType.INT16, false);
            }
            data = d;
        }
        return data;
    }

    static Path model() throws IOException {
        return data().resolve("segsam-demo.safetensors");
    }

    static Checkpoint openModel() throws IOException {
        return Checkpoint.open(model(), IoLimits.defaults());
    }

    private static void copy(String name, Path dir) throws IOException {
        try (InputStream in = TestSpark.class.getResourceAsStream("/dev/segsam/cli/demo/" + name)) {
            if (in == null) throw new IOException("no demo resource " + name);
            Files.copy(in, dir.resolve(name));
        }
    }
}
