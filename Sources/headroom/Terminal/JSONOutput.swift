import Foundation

/// What every `--json` prints: indented, keys sorted. A value that is not a number — the
/// probabilities of a model whose weights went NaN — is written as metrics.jsonl writes one
/// ("nan", "inf", "-inf"), never a failed encoding that hides every other row.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
