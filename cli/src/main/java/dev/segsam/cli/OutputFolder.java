package dev.segsam.cli;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The rule every command that writes a folder follows, and the mechanism that makes its output all-or-nothing.
 *
 * <p>{@link #prepare} checks the folder before any work is done (a new or empty folder, or a non-empty one only when
 * forced; not a file, not a dangling symbolic link, a parent that can be written) and creates a hidden temporary
 * sibling, {@code .<name>.segsam-<pid>-<random>.partial}, that the command writes into ({@link #dir}). {@link #commit}
 * moves it into place at the end: onto a new name in one rename; over an existing folder by renaming the old one aside,
 * the new one in, and deleting the old one. {@link #close} without a commit deletes the temporary sibling (and any
 * parent folders {@code prepare} created), so a failure leaves the previous folder as it was and nothing else behind.
 * On Ctrl-C (a JVM shutdown) a shutdown hook deletes the temporary sibling; siblings left by a run killed outright
 * (its process gone) are deleted by the next {@code prepare} of the same folder.
 *
 * <p>{@code --force} therefore replaces the whole folder, not file by file; to keep that from deleting what the user
 * did not mean to, {@code prepare} refuses to replace the file system root, the home folder, a folder holding the
 * current directory or one of the command's input files.
 */
public final class OutputFolder implements AutoCloseable {
    private static final String TAG = ".segsam-";

    /** Tests only: runs in {@link #commit} after the output is complete and before it is moved into place. */
    static volatile Runnable beforeCommit;

    private final Path target, shown, staging;
    private final List<Path> createdParents;
    private final Thread onExit; // Ctrl-C: the temporary folder goes too
    private boolean committed;

    private OutputFolder(Path target, Path shown, Path staging, List<Path> createdParents) {
        this.target = target;
        this.shown = shown;
        this.staging = staging;
        this.createdParents = createdParents;
        this.onExit = new Thread(() -> {
            try {
                // moved away first: the command, still running, can then add no file to the folder being deleted
                Path doomed = unique(staging.getParent(), target.getFileName().toString(), ".doomed"); // never restored, unlike .old
                Files.move(staging, doomed, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(doomed);
            } catch (IOException | RuntimeException ignored) {
                // the next run of the same folder deletes what is left
            }
        }, "segsam-output-cleanup");
        try {
            Runtime.getRuntime().addShutdownHook(onExit);
        } catch (IllegalStateException shuttingDown) {
            // nothing to add
        }
    }

    private void dropHook() {
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or ran
        }
    }

    /**
     * Checks {@code out} (see the class comment) and creates the temporary folder to write into. {@code inputs} are the
     * files the command reads (null entries are ignored): a forced replacement of a folder holding one is refused.
     */
    public static OutputFolder prepare(Path out, boolean force, String hint, Path... inputs) throws IOException {
        Path early = Files.exists(out) ? out.toRealPath() : out.toAbsolutePath().normalize();
        if (early.getParent() != null && Files.isDirectory(early.getParent())) cleanStale(early.getParent(), early);
        requireUsable(out, force, hint);
        Path target = Files.exists(out) ? out.toRealPath() : out.toAbsolutePath().normalize();
        if (target.getParent() == null) throw new IOException(out + " is the root of the file system; choose a folder below it");
        if (Files.isDirectory(target) && !isEmpty(target)) refuseDangerousReplace(out, target, inputs);
        Path parent = target.getParent();
        List<Path> created = createParents(out, parent);
        try {
            Path staging = unique(parent, target.getFileName().toString(), ".partial");
            Files.createDirectory(staging);
            return new OutputFolder(target, out, staging, created);
        } catch (IOException | RuntimeException e) {
            deleteCreated(created);
            throw e;
        }
    }

    /** Fails (before any work is done) if {@code out} is a file, a dangling link, or a non-empty folder without {@code force}. */
    public static void requireUsable(Path out, boolean force, String hint) throws IOException {
        if (Files.isSymbolicLink(out) && !Files.exists(out)) {
            throw new IOException(out + " is a symbolic link to " + Files.readSymbolicLink(out)
                    + ", which does not exist (create it or remove the link)");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) throw new FileAlreadyExistsException(out + " exists and is not a folder");
        if (Files.isDirectory(out) && !force && !isEmpty(out)) throw new DirectoryNotEmptyException(out + " is not empty (" + hint + ")");
        if (!Files.exists(out)) requireCreatableParent(out);
    }

    /**
     * Fails (before any work is done) if the output file {@code out} cannot be written: a folder, a dangling link, an
     * existing file without {@code force} ({@code hint} says how to replace it), or a parent that is not a writable folder.
     */
    public static void requireWritableFile(Path out, boolean force, String hint) throws IOException {
        if (Files.isSymbolicLink(out) && !Files.exists(out)) {
            throw new IOException(out + " is a symbolic link to " + Files.readSymbolicLink(out)
                    + ", which does not exist (remove the link or name another file)");
        }
        if (Files.isDirectory(out)) throw new FileAlreadyExistsException(out + " is a folder; name the file to write");
        if (Files.exists(out) && !force) throw new FileAlreadyExistsException(out + " exists (" + hint + ")");
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new NoSuchFileException(parent + (Files.exists(parent) ? " is not a folder" : " does not exist") + " (the folder of " + out + ")");
        }
        if (parent != null && !Files.isWritable(parent)) throw new java.nio.file.AccessDeniedException(parent + " (the folder of " + out + ") is not writable");
    }

    /** The temporary folder to write every output file into. */
    public Path dir() {
        return staging;
    }

    /** The folder as the user named it (for messages). */
    public Path shown() {
        return shown;
    }

    /** Moves the finished output into place (see the class comment); after this, {@link #close} does nothing. */
    public void commit() throws IOException {
        if (committed) return;
        Runnable hook = beforeCommit;
        if (hook != null) hook.run();
        Path parent = target.getParent();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            Path aside = unique(parent, target.getFileName().toString(), ".old");
            Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException | RuntimeException e) {
                Files.move(aside, target, StandardCopyOption.ATOMIC_MOVE);
                throw e;
            }
            committed = true;
            dropHook();
            deleteTree(aside);
        } else {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            committed = true;
            dropHook();
        }
    }

    /** Without a {@link #commit}: deletes the temporary folder and the parents {@link #prepare} created. */
    @Override
    public void close() throws IOException {
        if (committed) return;
        dropHook();
        deleteTree(staging);
        deleteCreated(createdParents);
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static void requireCreatableParent(Path out) throws IOException {
        Path p = out.toAbsolutePath().normalize().getParent();
        while (p != null && !Files.exists(p)) {
            if (Files.isSymbolicLink(p)) throw new NoSuchFileException(p + " is a symbolic link to " + Files.readSymbolicLink(p) + ", which does not exist");
            p = p.getParent();
        }
        if (p == null) return;
        if (!Files.isDirectory(p)) throw new FileAlreadyExistsException(p + " is not a folder (on the way to " + out + ")");
        if (!Files.isWritable(p)) throw new java.nio.file.AccessDeniedException(p + " is not writable (on the way to " + out + ")");
    }

    private static void refuseDangerousReplace(Path out, Path target, Path... inputs) throws IOException {
        String why = null;
        Path home = Path.of(System.getProperty("user.home")).toAbsolutePath();
        Path cwd = Path.of("").toAbsolutePath();
        if (Files.exists(home) && target.equals(home.toRealPath())) why = "it is the home folder";
        else if (cwd.toRealPath().startsWith(target)) why = "it holds the current folder";
        else {
            for (Path in : inputs) {
                if (in != null && Files.exists(in) && in.toRealPath().startsWith(target)) {
                    why = "it holds the input " + in;
                    break;
                }
            }
        }
        if (why != null) {
            throw new IOException("--force would replace the whole folder " + out + ", and " + why + "; choose another output folder");
        }
    }

    private static List<Path> createParents(Path out, Path parent) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path p = parent; p != null && !Files.exists(p); p = p.getParent()) missing.add(p);
        List<Path> created = new ArrayList<>();
        try {
            for (int i = missing.size() - 1; i >= 0; i--) {
                Files.createDirectory(missing.get(i));
                created.add(missing.get(i));
            }
        } catch (IOException e) {
            deleteCreated(created);
            throw new IOException("cannot create the folder " + out + ": " + Main.oneLine(e), e);
        }
        return created;
    }

    private static void deleteCreated(List<Path> created) {
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                Files.deleteIfExists(created.get(i)); // only if still empty
            } catch (IOException ignored) {
                return;
            }
        }
    }

    private static Path unique(Path parent, String name, String suffix) {
        return parent.resolve("." + name + TAG + ProcessHandle.current().pid() + "-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + suffix);
    }

    /**
     * Deletes {@code .<name>.segsam-<pid>-*.partial|.old|.doomed} siblings whose process is gone (a killed run); an old folder
     * set aside by a run killed before it moved its new one in goes back to its name instead.
     */
    private static void cleanStale(Path parent, Path target) throws IOException {
        String prefix = "." + target.getFileName() + TAG;
        try (Stream<Path> s = Files.list(parent)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(prefix) || !(n.endsWith(".partial") || n.endsWith(".old") || n.endsWith(".doomed"))) continue;
                String rest = n.substring(prefix.length());
                int dash = rest.indexOf('-');
                if (dash <= 0) continue;
                long pid;
                try {
                    pid = Long.parseLong(rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                if (n.endsWith(".old") && !Files.exists(target, LinkOption.NOFOLLOW_LINKS)) Files.move(p, target, StandardCopyOption.ATOMIC_MOVE);
                else deleteTree(p);
            }
        }
    }

    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) return;
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
            Files.deleteIfExists(root);
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
