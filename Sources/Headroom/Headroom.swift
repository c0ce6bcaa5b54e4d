/// Facts about Headroom itself.
public enum Headroom {
    public static let version = "0.1.0"
}
