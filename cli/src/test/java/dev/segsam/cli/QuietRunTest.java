package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A normal run prints no log lines below WARNING; {@code --verbose} (after any command) shows the library's DEBUG lines. */
class QuietRunTest {
    @TempDir
    static Path dir;

    /** The records the {@code segsam} logger hands to its handlers (what would be printed) during one run. */
    static List<LogRecord> logged(String... args) {
        Logger log = Logger.getLogger("segsam");
        List<LogRecord> got = new ArrayList<>();
        Handler h = new Handler() {
            @Override public void publish(LogRecord r) {
                if (log.isLoggable(r.getLevel())) got.add(r);
            }
            @Override public void flush() {}
            @Override public void close() {}
        };
        h.setLevel(Level.ALL);
        log.addHandler(h);
        try {
            MainTest.Run r = MainTest.run(args);
            assertEquals(0, r.code(), r.err());
        } finally {
            log.removeHandler(h);
            Main.verboseLogging(false);
        }
        return got;
    }

    @Test
    void quietByDefaultVerboseOnRequest() throws Exception {
        PredictCommandTest.dir = dir;
        PredictCommandTest.models();
        String[] base = {"predict", "--model", PredictCommandTest.sam.toString(), "--image", PredictCommandTest.image.toString(),
            "--box", "10,5,70,50", "--device", "auto", "--quiet", "--out"};
        List<LogRecord> quiet = logged(concat(base, dir.resolve("a").toString()));
        assertTrue(quiet.stream().allMatch(r -> r.getLevel().intValue() >= Level.WARNING.intValue()),
                "a normal run logs nothing below WARNING: " + quiet.stream().map(LogRecord::getMessage).toList());
        List<LogRecord> verbose = logged(concat(base, dir.resolve("b").toString(), "--verbose"));
        assertTrue(verbose.stream().anyMatch(r -> r.getMessage().startsWith("device auto: using")),
                "--verbose shows the device choice: " + verbose.stream().map(LogRecord::getMessage).toList());
        assertTrue(verbose.stream().anyMatch(r -> r.getMessage().startsWith("plain SAM")),
                "--verbose shows the checkpoint kind: " + verbose.stream().map(LogRecord::getMessage).toList());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
