import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.zip.GZIPInputStream;

/**
 * How long reading the kernels' fatbin takes, plain against gzip-compressed, from a directory and from a jar (where the
 * jar tool deflates every entry again), side by side in one JVM, interleaved. Usage (kernels/tools, JDK 25):
 *
 * <pre>java kernels/tools/FatbinLoadTiming.java PLAIN.fatbin COMPRESSED.fatbin.gz [rounds]</pre>
 *
 * With "cold N" as third and fourth arguments it reads form N (0 plain directory, 1 gzip directory, 2 plain jar, 3 gzip
 * jar) once and prints the time: run it in fresh JVMs, interleaved, for first-load times.
 * What it cannot measure without a GPU: cuModuleLoadData, which receives the same bytes either way.
 */
public class FatbinLoadTiming {
    interface Load {
        byte[] run() throws IOException;
    }

    public static void main(String[] args) throws Exception {
        Path plain = Path.of(args[0]), gz = Path.of(args[1]);
        Path jar = Files.createTempFile("fatbin", ".jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) { // default deflate, as maven-jar-plugin
            for (Path p : new Path[] {plain, gz}) {
                out.putNextEntry(new JarEntry(p.getFileName().toString()));
                out.write(Files.readAllBytes(p));
                out.closeEntry();
            }
        }
        byte[] expected = Files.readAllBytes(plain);
        try (JarFile jf = new JarFile(jar.toFile())) {
            String[] names = {"plain, directory", "gzip, directory", "plain, jar", "gzip, jar"};
            Load[] loads = {
                () -> Files.readAllBytes(plain),
                () -> gunzip(Files.newInputStream(gz)),
                () -> { try (InputStream in = jf.getInputStream(jf.getJarEntry(plain.getFileName().toString()))) { return in.readAllBytes(); } },
                () -> gunzip(jf.getInputStream(jf.getJarEntry(gz.getFileName().toString()))),
            };
            if (args.length > 3 && args[2].equals("cold")) {
                int i = Integer.parseInt(args[3]);
                long t0 = System.nanoTime();
                byte[] b = loads[i].run();
                System.out.printf("%-18s first load %6.2f ms%n", names[i], (System.nanoTime() - t0) / 1e6);
                if (!Arrays.equals(expected, b)) throw new AssertionError(names[i]);
                return;
            }
            int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 40;
            double[][] ms = new double[loads.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < loads.length; i++) {
                    long t0 = System.nanoTime();
                    byte[] b = loads[i].run();
                    ms[i][r] = (System.nanoTime() - t0) / 1e6;
                    if (!Arrays.equals(expected, b)) throw new AssertionError(names[i]);
                }
            }
            System.out.printf("jar entries (deflated by the jar): plain %d, gzip %d bytes; files: plain %d, gzip %d bytes%n",
                    jf.getJarEntry(plain.getFileName().toString()).getCompressedSize(), jf.getJarEntry(gz.getFileName().toString()).getCompressedSize(),
                    Files.size(plain), Files.size(gz));
            for (int i = 0; i < loads.length; i++) {
                double[] s = ms[i].clone();
                Arrays.sort(s);
                System.out.printf("%-18s median %6.2f ms  (min %6.2f, first %6.2f) over %d rounds%n", names[i], s[rounds / 2], s[0], ms[i][0], rounds);
            }
        } finally {
            Files.delete(jar);
        }
    }

    static byte[] gunzip(InputStream raw) throws IOException {
        try (InputStream in = new GZIPInputStream(raw, 1 << 16)) {
            return in.readAllBytes();
        }
    }
}
