package dev.segsam.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The repository stands alone: every section citation ({@code <page>.md §N}) in sources, scripts, tests, poms and docs
 * names a page that exists in the repository and a section that is a numbered heading of that page, and nothing refers
 * to a folder outside the repository ({@code shared/}, {@code ../shared}). Old-style citations are rewritten by
 * {@code tools/fix-citations.py}; the conventions are in {@code docs/design/README.md}.
 *
 * <p>What counts as a citation: a path ending in {@code .md}, then optionally closing marks ({@code } ` ) ]}) and
 * spacing or comment leaders (a citation may wrap to the next comment line), then {@code §}. The sections after it
 * may be a range ({@code §5.2–5.3}) or a list ({@code §4, §13}, {@code §4 and §13}). A path resolves from the
 * repository root or from the citing file's folder. A bare name of one of the design pages ({@code sam.md},
 * {@code segsam.md}, {@code stack.md}, {@code data.md}) must resolve from the citing file's folder, which only holds
 * inside {@code docs/design/}.
 */
class CitationsTest {
    /** Folders never scanned: build outputs, VCS data, run outputs and editor state. */
    private static final Set<String> SKIP_DIRS = Set.of("target", ".git", "node_modules", "runs", "out", "gpu-bundle",
            "__pycache__", ".idea", ".vscode", ".mvn");
    private static final Set<String> TEXT_EXT = Set.of("java", "md", "py", "sh", "xml", "cu", "cuh", "c", "h", "txt",
            "properties", "json", "yml", "yaml", "toml", "cfg");
    /** This file and the rewriting script describe the old forms on purpose. */
    private static final Set<String> SELF = Set.of("core-tensor/src/test/java/dev/segsam/docs/CitationsTest.java",
            "tools/fix-citations.py");

    private static final String NUM = "([0-9]+(?:\\.[0-9]+)*)";
    private static final Pattern CITATION = Pattern.compile("(?<![A-Za-z0-9_./-])([A-Za-z0-9_./-]+\\.md)[`'\"})\\]]*[\\s*/#(]*§");
    private static final Pattern SECTION = Pattern.compile("§\\s?" + NUM + "(?:\\s?[–-]\\s?" + NUM + ")?");
    private static final Pattern NEXT_SECTION = Pattern.compile("(?:,\\s*|\\s+and\\s+|\\s+or\\s+|\\s*/\\s*)(?=§)");
    private static final Pattern OUTSIDE = Pattern.compile("(?<![\\w.-])(?:(?:\\.\\./)+shared\\b|(?:/work/)?shared/)");
    private static final Pattern BARE_PAGE = Pattern.compile("(?<![\\w/.-])(?:sam|segsam|stack|data)\\.md\\b");
    private static final Pattern HEADING = Pattern.compile("(?m)^#{1,6}\\s+(?:Appendix\\s+)?([0-9]+(?:\\.[0-9]+)*|[A-Z])(?=[.:\\s]|$)");

    /** The result of scanning: problems as {@code path:line: message}, and how much was looked at. */
    record Report(List<String> problems, int files, int citations) {}

    @Test
    void everyCitationInTheRepositoryResolves() {
        Path root = repositoryRoot();
        Report r = scan(root);
        assertTrue(r.problems().isEmpty(), r.problems().size() + " dead citation(s) or outside references (rewrite old"
                + " forms with tools/fix-citations.py; sections must be headings of the cited page):\n"
                + String.join("\n", r.problems()));
        // guards against a vacuous pass (wrong root, scanner broken)
        assertTrue(r.files() > 200, "only " + r.files() + " text files scanned under " + root);
        assertTrue(r.citations() > 40, "only " + r.citations() + " citations found under " + root);
    }

    @Test
    void theCheckerCatchesWhatItShould(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("docs/design"));
        Files.writeString(root.resolve("docs/design/x.md"), "# X\n\n## 1. One\n\n### 1.2 Sub\n\n## 3 Three\n\n## Appendix A: list\n");
        Files.writeString(root.resolve("docs/design/sam.md"), "## 5. Five\n");
        Files.writeString(root.resolve("docs/design/index.md"), "see [sam.md](sam.md) and x.md §1.2\n");
        Files.createDirectories(root.resolve("src"));
        Files.writeString(root.resolve("src/Good.java"), String.join("\n",
                "/** docs/design/x.md §1.2, {@code docs/design/x.md} §1 and §3; (docs/design/x.md §1–1.2)",
                " * wrapped {@code docs/design/x.md}",
                " * §3, paper §9 and PS3.5 §7 are not page citations */"));
        Files.writeString(root.resolve("src/Bad.java"), String.join("\n",
                "// docs/design/x.md §2",          // no such section
                "// docs/design/x.md §1, §4",      // the second one is missing
                "// docs/design/x.md §1.2–1.5",    // range end missing
                "// nowhere.md §1",                // no such page
                "// see sam.md for details",       // bare page name outside docs/design
                "// ../shared/spec/stack.md",      // outside the repository
                "// /work/shared/notes",           // outside the repository
                "// as in ../shared"));            // outside the repository
        Report r = scan(root);
        List<String> bad = r.problems().stream().filter(p -> p.startsWith("src/Bad.java")).toList();
        assertEquals(r.problems(), bad, "only Bad.java has problems");
        for (int line = 1; line <= 8; line++) {
            String prefix = "src/Bad.java:" + line + ":";
            assertTrue(bad.stream().anyMatch(p -> p.startsWith(prefix)), "line " + line + " flagged: " + bad);
        }
        assertEquals(4 + 1 + 4, r.citations(), "citations in Good.java, index.md and Bad.java: " + r);
    }

    // ------------------------------------------------------------------ scanner

    static Report scan(Path root) {
        List<String> problems = new ArrayList<>();
        int[] counts = new int[2];
        Map<Path, Set<String>> sections = new HashMap<>();
        for (Path file : textFiles(root)) {
            String rel = root.relativize(file).toString().replace('\\', '/');
            if (SELF.contains(rel)) continue;
            String text = read(file);
            if (text == null) continue;
            counts[0]++;
            checkFile(root, file, rel, text, sections, problems, counts);
        }
        return new Report(problems, counts[0], counts[1]);
    }

    private static void checkFile(Path root, Path file, String rel, String text, Map<Path, Set<String>> sections,
                                  List<String> problems, int[] counts) {
        Matcher m = OUTSIDE.matcher(text);
        while (m.find()) {
            problems.add(rel + ":" + line(text, m.start()) + ": refers to a folder outside the repository: " + snippet(text, m.start()));
        }
        m = BARE_PAGE.matcher(text);
        while (m.find()) {
            if (resolve(root, file, m.group()) == null) {
                problems.add(rel + ":" + line(text, m.start()) + ": bare design-page name " + m.group()
                        + " does not resolve here (write docs/design/" + m.group() + ")");
            }
        }
        m = CITATION.matcher(text);
        while (m.find()) {
            counts[1]++;
            String page = m.group(1);
            int at = line(text, m.start());
            Path target = resolve(root, file, page);
            if (target == null) {
                problems.add(rel + ":" + at + ": cited page " + page + " is not in the repository");
                continue;
            }
            Set<String> known = sections.computeIfAbsent(target, CitationsTest::headings);
            int pos = m.end() - 1; // at the §
            Matcher s = SECTION.matcher(text);
            Matcher next = NEXT_SECTION.matcher(text);
            while (true) {
                s.region(pos, text.length());
                if (!s.lookingAt()) {
                    problems.add(rel + ":" + at + ": cannot read the section after " + page + ": " + snippet(text, pos));
                    break;
                }
                for (int g = 1; g <= 2; g++) {
                    String sec = s.group(g);
                    if (sec != null && !known.contains(sec)) {
                        problems.add(rel + ":" + at + ": " + page + " has no section " + sec + " (its numbered headings: "
                                + String.join(", ", known) + ")");
                    }
                }
                pos = s.end();
                next.region(pos, text.length());
                if (!next.lookingAt()) break;
                pos = next.end();
            }
        }
    }

    /** The numbered headings of a markdown page ({@code ## 5. Title} → 5, {@code ### 5.2 Title} → 5.2, Appendix A → A). */
    private static Set<String> headings(Path page) {
        Set<String> out = new LinkedHashSet<>();
        String text = read(page);
        if (text == null) return out;
        Matcher m = HEADING.matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    /** {@code ref} from the repository root, else from the citing file's folder; null unless a file inside the root. */
    private static Path resolve(Path root, Path file, String ref) {
        if (ref.startsWith("/")) return null;
        for (Path base : new Path[] {root, file.getParent()}) {
            Path p = base.resolve(ref).normalize();
            if (p.startsWith(root) && Files.isRegularFile(p)) return p;
        }
        return null;
    }

    private static List<Path> textFiles(Path root) {
        List<Path> out = new ArrayList<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                    boolean skip = !dir.equals(root) && (SKIP_DIRS.contains(name) || name.startsWith("segsam-out"));
                    return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile() && isText(f)) out.add(f);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.sort(null);
        return out;
    }

    /** A known text extension, or an extensionless script starting with {@code #!}. */
    private static boolean isText(Path f) {
        String name = f.getFileName().toString();
        int dot = name.lastIndexOf('.');
        if (dot > 0) return TEXT_EXT.contains(name.substring(dot + 1));
        try (var in = Files.newInputStream(f)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && head[0] == '#' && head[1] == '!';
        } catch (IOException e) {
            return false;
        }
    }

    /** The file as UTF-8, or null when it is not valid UTF-8 (then it is not prose). */
    private static String read(Path f) {
        try {
            byte[] raw = Files.readAllBytes(f);
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** 1-based line of {@code index}; only called for citations and problems, so a plain count is fast enough. */
    private static int line(String text, int index) {
        int n = 1;
        for (int i = text.lastIndexOf('\n', index - 1); i >= 0; i = text.lastIndexOf('\n', i - 1)) n++;
        return n;
    }

    private static String snippet(String text, int index) {
        int end = text.indexOf('\n', index);
        String s = text.substring(index, end < 0 ? text.length() : end).strip();
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }

    /**
     * The repository root, found from surefire's working directory (a module folder) or anywhere below the root: the
     * nearest folder upwards whose {@code pom.xml} is the parent POM and that has {@code docs/design/}.
     */
    static Path repositoryRoot() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path pom = d.resolve("pom.xml");
            if (Files.isRegularFile(pom) && Files.isDirectory(d.resolve("docs/design"))) {
                String text = read(pom);
                if (text != null && text.contains("<artifactId>segsam-parent</artifactId>")) return d;
            }
        }
        throw new AssertionError("no segsam repository root (pom.xml of segsam-parent with docs/design/) above " + dir);
    }
}
