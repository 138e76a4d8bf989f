package dev.segsam.cli.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalFormatException;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dataset.CaseSplit;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.io.medical.intensity.MrNormalization;
import dev.segsam.model.train.TrainSample;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layout detection, slicing, channels and the split of the data sets behind {@code --data PATH}. */
class DataSourcesTest {
    @TempDir
    Path dir;

    static DataOptions options(String data) {
        DataOptions o = new DataOptions();
        o.data = data;
        o.phantoms = 240;
        o.axis = "auto";
        o.channel = 0;
        o.window = "auto";
        o.minPixels = 20;
        o.sliceStep = 1;
        o.valFraction = 0.1;
        o.testFraction = 0.1;
        return o;
    }

    static final PrintWriter QUIET = new PrintWriter(new StringWriter());

    @Test
    void anMsdFolderIsSlicedAndSplitByCase() throws Exception {
        Path msd = MsdFixture.write(dir.resolve("Task99_Phantom"), 10, 3, 64);
        assertEquals(DataSources.Layout.MSD, DataSources.detect(msd.toString()));
        DataOptions o = options(msd.toString());
        o.valFraction = 0.2;
        o.testFraction = 0.2;
        DataSources ds = DataSources.load(o, null, null, QUIET);
        assertEquals(List.of("liver", "spleen", "kidney_left", "kidney_right", "stomach", "aorta", "vertebra"), ds.classNames());
        // every slice of a phantom volume shows organs: 3 samples per case, ids CASE_z###
        assertEquals(30, ds.train().size() + ds.val().size() + ds.test().size());
        assertEquals(6 * 3, ds.train().size());
        assertEquals(2 * 3, ds.test().size());
        assertTrue(ds.train().stream().allMatch(s -> s.id().matches("phantom_00\\d_z00[0-2]")), ds.train().getFirst().id());
        // by case: no volume has slices in two splits, and the split is CaseSplit's
        JsonNode split = ds.provenance().get("split");
        List<String> cases = new ArrayList<>();
        for (int i = 0; i < 10; i++) cases.add(String.format("phantom_%03d", i));
        CaseSplit expect = CaseSplit.of(cases, 0.2, 0.2);
        assertEquals(expect.test(), strings(split.get("test")));
        assertEquals(expect.val(), strings(split.get("val")));
        assertEquals(expect.train(), strings(split.get("train")));
        for (String sp : List.of("train", "val", "test")) {
            Set<String> caseOf = new HashSet<>();
            for (TrainSample s : ds.split(sp)) caseOf.add(s.id().substring(0, "phantom_000".length()));
            assertEquals(new HashSet<>(strings(split.get(sp))), caseOf, sp);
        }
        // images: the abdomen window (dataset.json says CT) of the volume's display slice
        TrainSample first = ds.train().getFirst();
        int caseIndex = Integer.parseInt(first.id().substring(8, 11)), z = Integer.parseInt(first.id().substring(13));
        float[][] d = MsdFixture.caseData(caseIndex, 3, 64);
        try (Volume v = MsdFixture.volume(d[0], 3, 64)) {
            assertArrayEquals(CtWindow.ABDOMEN.fixed().toRgb(v.displaySlice(Axis.Z, z)).rgb(), first.image().rgb());
        }
        assertEquals("z", ds.provenance().get("axes_used").asText());
        // loading again with the recorded provenance gives the same split, even with other fractions
        DataOptions other = options(msd.toString());
        other.testFraction = 0.5;
        DataSources again = DataSources.load(other, ds.provenance(), Set.of("test"), QUIET);
        assertEquals(ds.test().stream().map(TrainSample::id).toList(), again.test().stream().map(TrainSample::id).toList());
        assertTrue(again.train().isEmpty(), "only the asked split is read");
        assertEquals(ds.cacheKey(), DataSources.load(o, null, null, QUIET).cacheKey());
        // --axis x cuts the other way: of the 64 columns, those crossing an organ
        DataOptions ox = options(msd.toString());
        ox.axis = "x";
        DataSources byX = DataSources.load(ox, null, null, QUIET);
        assertTrue(byX.train().size() > 100, "slices along x: " + byX.train().size());
        assertEquals(64, byX.train().getFirst().image().width()); // sagittal: y across, the 3 slices (z) down
        assertEquals(3, byX.train().getFirst().image().height());
        // --slice-step 2 keeps slices 0 and 2 of each volume
        o.sliceStep = 2;
        assertEquals(20, DataSources.load(o, null, null, QUIET).train().size() + DataSources.load(o, null, null, QUIET).val().size()
                + DataSources.load(o, null, null, QUIET).test().size());
    }

    @Test
    void fourDimensionalImagesGiveTheChosenChannel() throws Exception {
        Path msd = dir.resolve("Task98_TwoChannels");
        Files.createDirectories(msd.resolve("imagesTr"));
        Files.createDirectories(msd.resolve("labelsTr"));
        StringBuilder training = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            float[][] d = MsdFixture.caseData(i, 2, 64);
            float[] mr = new float[d[0].length];
            for (int k = 0; k < mr.length; k++) mr[k] = d[0][k] + 1200 + 10 * (k % 7); // a positive "MR-like" channel 0
            String id = "two_" + i;
            MsdFixture.write4d(msd.resolve("imagesTr/" + id + ".nii.gz"), new float[][] {mr, d[0]}, 64, 64, 2);
            dev.segsam.io.medical.nifti.NiftiWriter.write(msd.resolve("labelsTr/" + id + ".nii.gz"), MsdFixture.volume(d[1], 2, 64),
                    dev.segsam.io.medical.nifti.NiftiDataType.UINT8, false);
            training.append(i > 0 ? "," : "").append("{\"image\": \"imagesTr/").append(id).append(".nii.gz\", \"label\": \"labelsTr/").append(id).append(".nii.gz\"}");
        }
        MsdFixture.writeIndex(msd, training.toString(), "{\"0\": \"MR\", \"1\": \"CT\"}");
        DataOptions o = options(msd.toString());
        o.channel = 1;
        DataSources ct = DataSources.load(o, null, null, QUIET);
        TrainSample s = ct.train().getFirst();
        int i = Integer.parseInt(s.id().substring(4, 5)), z = Integer.parseInt(s.id().substring(7));
        float[][] d = MsdFixture.caseData(i, 2, 64);
        try (Volume v = MsdFixture.volume(d[0], 2, 64)) {
            assertArrayEquals(CtWindow.ABDOMEN.fixed().toRgb(v.displaySlice(Axis.Z, z)).rgb(), s.image().rgb(), "channel 1, windowed as CT");
        }
        o.channel = 0;
        DataSources mr = DataSources.load(o, null, null, QUIET);
        TrainSample m = mr.train().stream().filter(x -> x.id().equals(s.id())).findFirst().orElseThrow();
        assertFalse(java.util.Arrays.equals(m.image().rgb(), s.image().rgb()));
        float[] mrv = new float[d[0].length];
        for (int k = 0; k < mrv.length; k++) mrv[k] = d[0][k] + 1200 + 10 * (k % 7);
        try (Volume v = MsdFixture.volume(mrv, 2, 64)) {
            assertArrayEquals(MrNormalization.of(v).toRgb(v.displaySlice(Axis.Z, z)).rgb(), m.image().rgb(), "channel 0, MR normalisation");
        }
        assertEquals("MR", mr.provenance().get("channel_name").asText());
        o.channel = 2;
        MedicalFormatException e = assertThrows(MedicalFormatException.class, () -> DataSources.load(o, null, null, QUIET));
        assertTrue(e.getMessage().contains("two_") && e.getMessage().contains(": channel: --channel 2"), e.getMessage());
    }

    @Test
    void unknownLayoutsAndMissingPathsAreNamed() throws Exception {
        Path d = dir.resolve("photos");
        Files.createDirectories(d);
        Files.writeString(d.resolve("cat.txt"), "meow");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataSources.detect(d.toString()));
        assertTrue(e.getMessage().startsWith(d + ": no data set layout found; expected an MSD/nnU-Net folder"), e.getMessage());
        assertTrue(e.getMessage().contains("`segsam dataset` folder") && e.getMessage().contains("SA-Med2D-16M"), e.getMessage());
        assertThrows(java.nio.file.NoSuchFileException.class, () -> DataSources.detect(dir.resolve("nope").toString()));
        assertEquals(DataSources.Layout.PHANTOM, DataSources.detect("phantom"));
        assertEquals(DataSources.Layout.COLIN27, DataSources.detect("colin27"));
    }

    static List<String> strings(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(n -> out.add(n.asText()));
        return out;
    }
}
