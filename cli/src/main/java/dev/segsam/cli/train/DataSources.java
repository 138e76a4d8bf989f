package dev.segsam.cli.train;

import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.dataset.ClassInfo;
import dev.segsam.io.medical.dataset.Colin27Aal;
import dev.segsam.io.medical.dataset.InstanceMask;
import dev.segsam.io.medical.dataset.Sample;
import dev.segsam.io.medical.dataset.SegmentationDataset;
import dev.segsam.model.train.TrainSample;
import dev.segsam.model.train.TrainingData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training/evaluation data sets by name, split into train / val / test:
 * <ul>
 *   <li>{@code colin27}: Colin27 T1 + AAL slices (real labelled MRI; fetched by {@code scripts/fetch-data.sh}), the
 *       default structures of {@link Colin27Aal}, split by slice position as that class documents;</li>
 *   <li>{@code phantom}: {@code count} synthetic abdominal CT slices (seeds 1..count), split 80/10/10 by seed.</li>
 * </ul>
 * Class indices are 1..K in the order of the data set's class list.
 */
public record DataSources(String name, List<String> classNames, List<TrainSample> train, List<TrainSample> val, List<TrainSample> test)
        implements TrainingData {

    public static Path defaultDataDir() {
        String env = System.getenv("SEGSAM_DATA");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "segsam");
    }

    public static DataSources load(String name, Path dataDir, int phantoms, int phantomSize) throws IOException {
        return switch (name) {
            case "colin27" -> colin27(dataDir == null ? defaultDataDir().resolve("mricron-data") : dataDir);
            case "phantom" -> phantom(phantoms, phantomSize);
            default -> throw new IllegalArgumentException("unknown data set '" + name + "': expected colin27 or phantom");
        };
    }

    static DataSources colin27(Path dir) throws IOException {
        Path ch2 = dir.resolve("ch2.nii.gz"), aal = dir.resolve("aal.nii.gz"), txt = dir.resolve("aal.nii.txt");
        for (Path p : List.of(ch2, aal, txt)) {
            if (!Files.exists(p)) throw new IOException(p + " not found: run scripts/fetch-data.sh (Debian mricron-data) or pass --data-dir");
        }
        Colin27Aal.Options o = Colin27Aal.Options.defaults();
        Map<Integer, String> names = Colin27Aal.readLabelNames(txt);
        Map<Integer, Integer> index = new LinkedHashMap<>();
        List<String> classNames = new ArrayList<>();
        for (int id : o.classIds()) {
            index.put(id, classNames.size() + 1);
            classNames.add(names.get(id));
        }
        List<TrainSample> tr = new ArrayList<>(), va = new ArrayList<>(), te = new ArrayList<>();
        for (Colin27Aal.SplitSample s : Colin27Aal.samples(ch2, aal, txt, o)) {
            TrainSample t = convert(s.sample(), index);
            (switch (s.split()) { case "train" -> tr; case "val" -> va; default -> te; }).add(t);
        }
        return new DataSources("colin27", classNames, tr, va, te);
    }

    static DataSources phantom(int count, int size) throws IOException {
        Map<Integer, Integer> index = new LinkedHashMap<>();
        List<String> classNames = new ArrayList<>();
        for (ClassInfo c : AbdomenPhantom.CLASSES) {
            index.put(c.id(), classNames.size() + 1);
            classNames.add(c.name());
        }
        List<TrainSample> tr = new ArrayList<>(), va = new ArrayList<>(), te = new ArrayList<>();
        try (SegmentationDataset d = AbdomenPhantom.dataset(1, count, size)) {
            for (int i = 0; i < count; i++) {
                TrainSample t = convert(d.get(i), index);
                (i < count * 8 / 10 ? tr : i < count * 9 / 10 ? va : te).add(t);
            }
        }
        return new DataSources("phantom", classNames, tr, va, te);
    }

    static TrainSample convert(Sample s, Map<Integer, Integer> index) {
        List<TrainSample.Target> targets = new ArrayList<>();
        for (InstanceMask m : s.masks()) {
            Integer k = index.get(m.classId());
            if (k != null && m.area() > 0) targets.add(new TrainSample.Target(k, m.className(), m.mask()));
        }
        return new TrainSample(s.id(), s.image(), targets);
    }

    /** The split called {@code name}. */
    public List<TrainSample> split(String name) {
        return switch (name) {
            case "train" -> train;
            case "val" -> val;
            case "test" -> test;
            default -> throw new IllegalArgumentException("unknown split '" + name + "': expected train, val or test");
        };
    }
}
