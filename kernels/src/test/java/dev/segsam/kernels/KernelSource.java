package dev.segsam.kernels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The {@code extern "C"} kernels declared in {@code src/main/cuda}, read from the sources: name, block size
 * ({@code __launch_bounds__}) and parameters. {@code KernelSourceTest} compares them with {@link Kernel} and its
 * {@link KernelArgs} records; the emulator build generates its launch thunks from them.
 */
record KernelSource(String name, int threads, List<Param> params) {
    /** One parameter: its C type as written (without {@code __restrict__}) and name. */
    record Param(String type, String name) {
        /** The Java type of the matching {@link KernelArgs} component: In (const pointer), Out (other pointers), int, float, double. */
        Class<?> javaType() {
            if (type.contains("*")) return type.startsWith("const ") ? KernelArgs.In.class : KernelArgs.Out.class;
            return switch (type) {
                case "int" -> int.class;
                case "float" -> float.class;
                case "double" -> double.class;
                default -> throw new IllegalStateException("kernel parameter type " + type + " has no Java counterpart");
            };
        }
    }

    static final Path DIR = Path.of("src/main/cuda");
    private static final Pattern DECL = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+__launch_bounds__\\((\\d+)[^)]*\\)\\s+(\\w+)\\s*\\(([^)]*)\\)");

    /** The CUDA sources in name order. */
    static List<Path> files() {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every kernel declared in the sources, by name. */
    static Map<String, KernelSource> all() {
        Map<String, KernelSource> out = new LinkedHashMap<>();
        for (Path f : files()) {
            String text;
            try {
                text = Files.readString(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            text = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
            Matcher m = DECL.matcher(text);
            while (m.find()) {
                List<Param> params = new ArrayList<>();
                for (String p : m.group(3).split(",")) {
                    String t = p.replace("__restrict__", " ").trim().replaceAll("\\s+", " ");
                    int cut = t.lastIndexOf(' ');
                    String type = t.substring(0, cut).replace(" *", "*").trim();
                    params.add(new Param(type, t.substring(cut + 1)));
                }
                KernelSource k = new KernelSource(m.group(2), Integer.parseInt(m.group(1)), params);
                if (out.put(k.name(), k) != null) throw new IllegalStateException("kernel " + k.name() + " declared twice");
            }
        }
        return out;
    }
}
