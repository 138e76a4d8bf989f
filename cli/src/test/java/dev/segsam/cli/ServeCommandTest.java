package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** segsam serve's flags (the server itself: dev.segsam.cli.serve.SegServerApiTest and ServeBrowserTest). */
class ServeCommandTest {
    @Test
    void aNonLoopbackHostNeedsAllowRemote() {
        MainTest.Run r = MainTest.run("serve", "--host", "0.0.0.0", "--port", "0");
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--allow-remote"), r.err());
        assertTrue(r.err().startsWith("segsam: --host 0.0.0.0 is not a loopback address"), r.err());
    }

    @Test
    void aPortInUseIsOneLine() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            MainTest.Run r = MainTest.run("serve", "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(1, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()) && r.err().contains("--port"), r.err());
            assertEquals(1, r.err().lines().filter(l -> l.startsWith("segsam: ") && !l.contains("device auto")).count(), r.err());
        }
    }

    @Test
    void badNumbersAreUsageErrors() {
        assertEquals(2, MainTest.run("serve", "--port", "70000").code());
        assertEquals(2, MainTest.run("serve", "--queue", "0").code());
        MainTest.Run help = MainTest.run("serve", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--max-upload-mb") && help.out().contains("127.0.0.1"), help.out());
    }
}
