package dev.segsam.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A real JVM started without {@code --add-modules jdk.incubator.vector} (the test JVM has it): the default options
 * compute on the reference backend with exactly one WARN that names the option; asking for the fast CPU explicitly
 * fails with the option in its message.
 */
class NoVectorApiTest {
    /** Run in the child JVM: makes three default CPU backends, then asks for {@code cpu fast}. */
    public static void main(String[] args) {
        for (int i = 0; i < 3; i++) System.out.println(Backends.cpu(Options.defaults()).name());
        try {
            Backends.select(Options.defaults().withDevice(Device.CPU).withCpu(Options.CpuKind.FAST));
            System.out.println("fast: created");
        } catch (Backends.BackendUnavailableException e) {
            System.out.println("fast: " + e.getMessage());
        }
    }

    @Test
    void warnsOnceAndFailsWhenFastIsAskedFor() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), NoVectorApiTest.class.getName()));
        Process p = new ProcessBuilder(cmd).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), err);
        List<String> lines = out.lines().toList();
        assertEquals(List.of("cpu-reference", "cpu-reference", "cpu-reference"), lines.subList(0, 3), out);
        assertTrue(lines.get(3).startsWith("fast: ") && lines.get(3).contains("--add-modules jdk.incubator.vector"), out);
        long warnings = err.lines().filter(l -> l.contains("lacks the Vector API")).count();
        assertEquals(1, warnings, "one warning for three backends:\n" + err);
        assertTrue(err.contains("WARNING") && err.contains("--add-modules jdk.incubator.vector"), err);
    }
}
