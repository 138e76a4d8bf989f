package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ablation-report: mean ± sample sd over seed folders, per split and metric; rows without a run are left out. */
class AblationReportCommandTest {
    @TempDir
    Path dir;

    void run(Path seedDir, String row, double dsc, Double mdsc, double seconds) throws Exception {
        Path d = seedDir.resolve(row);
        Files.createDirectories(d);
        String m = mdsc == null ? "null" : Double.toString(mdsc);
        Files.writeString(d.resolve("eval.json"), "{\"val\": {\"dsc\": 0.5, \"mdsc\": " + m + "}, \"test\": {\"dsc\": " + dsc + ", \"mdsc\": " + m
                + ", \"class_accuracy\": 0.25, \"presence_auroc\": 0.9}}");
        Files.writeString(d.resolve("train.json"), "{\"seconds\": " + seconds + ", \"cpu_seconds\": " + 2 * seconds + "}");
    }

    @Test
    void meanAndSampleSdOverSeeds() throws Exception {
        Path s1 = dir.resolve("seed1"), s2 = dir.resolve("seed2");
        run(s1, "full", 0.60, 0.20, 600);
        run(s2, "full", 0.80, 0.30, 1200);
        run(s1, "baseline", 0.70, null, 60);
        MainTest.Run r = MainTest.run("ablation-report", s1.toString(), s2.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("| model | test DSC | test mDSC | test class acc. | test AUROC | runs |"), lines.get(0));
        String full = lines.stream().filter(l -> l.contains("full SEG-SAM")).findFirst().orElseThrow();
        // values 60, 80 → mean 70, sample sd √200 = 14.14; 20, 30 → 25 ± 7.07; time (600 + 1200) / 2 s = 15 min, CPU 30 min
        List<String> cells = Arrays.stream(full.split("\\|")).map(String::strip).toList();
        assertEquals(List.of("", "+ cross-mask alignment (full SEG-SAM)", "70.0 ± 14.1", "25.0 ± 7.1", "25.0 ± 0.0", "0.900 ± 0.000", "2", "15.0 / 30.0 min"),
                cells, full);
        String base = lines.stream().filter(l -> l.contains("baseline")).findFirst().orElseThrow();
        assertTrue(base.contains("| 70.0 | – |"), base); // one seed: no sd; no mDSC: a dash
        assertFalse(r.out().contains("+ SO-token"), "rows without runs are left out: " + r.out());
        MainTest.Run both = MainTest.run("ablation-report", "--split", "both", s1.toString());
        assertTrue(both.out().lines().findFirst().orElseThrow().startsWith("| model | val DSC | val mDSC | val class acc. | val AUROC | test DSC |"), both.out());
        assertEquals(1, MainTest.run("ablation-report", "--split", "train", s1.toString()).code());
    }
}
