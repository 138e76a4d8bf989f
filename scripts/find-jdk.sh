# Sourced by ./mvnw, ./segsam and scripts/*.sh: sets SEGSAM_JAVA_HOME to a JDK >= 25, or exits with a message.
# Order: $SEGSAM_JAVA_HOME, $JAVA_HOME, the java on PATH, then every JDK under /usr/lib/jvm and /opt.
# Nobody has to export JAVA_HOME: the default java on these machines is 17 and a JDK 25 sits in /usr/lib/jvm.

segsam_java_major() { # $1 = a JDK home; prints its feature version, or nothing
  local out=""
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  # the JDK's release file first (no JVM start: every ./segsam call passes here), the JVM itself only without one
  [ -f "$1/release" ] && out=$(sed -n 's/^JAVA_VERSION="\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' "$1/release" | head -n1)
  [ -n "$out" ] || out=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)
  printf '%s' "${out%%.*}"
}

segsam_find_jdk() {
  local candidates=() c major
  [ -n "${SEGSAM_JAVA_HOME:-}" ] && candidates+=("$SEGSAM_JAVA_HOME")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v javac >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    candidates+=("$c")
  fi
  for c in /usr/lib/jvm/* /opt/java/* /opt/jdk* /opt/*jdk*; do
    [ -d "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    major=$(segsam_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 25 ] 2>/dev/null; then
      SEGSAM_JAVA_HOME="$c"
      return 0
    fi
  done
  {
    echo "segsam: no JDK 25 or newer found (looked at \$JAVA_HOME, the javac on PATH, /usr/lib/jvm/*, /opt)."
    echo "segsam: install one, e.g. Eclipse Temurin 25 (https://adoptium.net, Debian/Ubuntu package temurin-25-jdk),"
    echo "segsam: or point SEGSAM_JAVA_HOME at an existing JDK 25 installation."
  } >&2
  exit 3
}

segsam_find_jdk
export SEGSAM_JAVA_HOME
