package io.stackctl.connect.clickhouse;

/** The plugin's version, from the jar manifest (Implementation-Version). */
final class Version {
    private Version() {
    }

    static String get() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
