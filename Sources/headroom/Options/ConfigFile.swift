import ArgumentParser
import Foundation
import Headroom

/// `--config FILE` for `train` and `plan`, as timm's `-c args.yaml`: a JSON object or a YAML
/// file of `key: value` lines whose keys are the command's option names (with or without
/// `--`, `_` or `-`: `batch_size: 64`, `--lr: 0.1`), `data: PATH` for the data folder. The
/// options become arguments placed before the command line's, so the command line overrides
/// them (an option given twice takes its last value). `true` turns a flag on; `false` and
/// `null` leave an option out (its default). Every training run writes `args.yaml`, the file
/// that runs it again: `headroom train --config RUN_DIR/args.yaml`.
enum ConfigFile {
    /// The tool's arguments as the bytes they are (see PathNames), without the program's name.
    static func rawArguments() -> [String] {
        (1..<Int(CommandLine.argc)).compactMap { CommandLine.unsafeArgv[$0].map { PathNames.string(fromCString: $0) } }
    }

    /// `arguments` with `--config FILE` replaced by the file's options, right after the subcommand.
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let command = arguments.first, ["train", "plan"].contains(command) else { return arguments }
        var rest = Array(arguments.dropFirst())
        let end = rest.firstIndex(of: "--") ?? rest.count
        guard let index = rest[..<end].firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return arguments }
        let path: String
        if rest[index] == "--config" {
            guard index + 1 < end else { throw ValidationError("--config needs a file: --config args.yaml") }
            path = rest[index + 1]
            rest.removeSubrange(index...(index + 1))
        } else {
            path = String(rest[index].dropFirst("--config=".count))
            rest.remove(at: index)
        }
        return [command] + (try options(inFile: path)) + rest
    }

    /// The arguments a config file stands for.
    static func options(inFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--config \(path): cannot read the file") }
        let text = String(decoding: data, as: UTF8.self)
        let entries = try text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{")
            ? jsonEntries(data, path: path) : yamlEntries(text, path: path)
        var options: [String] = []
        var positional: [String] = []
        for (key, value) in entries {
            let name = key.hasPrefix("--") ? String(key.dropFirst(2)) : key
            let option = "--" + name.replacingOccurrences(of: "_", with: "-")
            switch value {
            case .none, .some(.flag(false)): continue
            case .some(.flag(true)): options.append(option)
            case .some(.text(let text)): if name == "data" { positional.append(text) } else { options += [option, text] }
            }
        }
        return positional + options
    }

    enum Value: Equatable { case flag(Bool), text(String) }

    private static func jsonEntries(_ data: Data, path: String) throws -> [(String, Value?)] {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw ValidationError("--config \(path): not a JSON object of option names and values")
        }
        func text(_ value: JSONValue) -> String? {
            switch value {
            case .string(let text): text
            case .integer(let number): String(number)
            case .number(let number): String(number)
            case .array(let items): items.compactMap(text).joined(separator: ",")
            case .null, .bool, .object: nil
            }
        }
        return try object.keys.sorted().map { key in
            switch object[key]! {
            case .null: return (key, nil)
            case .bool(let flag): return (key, .flag(flag))
            case let value:
                guard let text = text(value) else { throw ValidationError("--config \(path): \(key) is not an option's value") }
                return (key, .text(text))
            }
        }
    }

    /// YAML's flat mappings, as timm writes args.yaml: `key: value` lines, `#` comments, values
    /// plain or quoted; `[a, b]` lists become "a,b". Nested mappings are refused by line.
    private static func yamlEntries(_ text: String, path: String) throws -> [(String, Value?)] {
        var entries: [(String, Value?)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if let hash = line.range(of: " #") ?? (line.hasPrefix("#") ? line.range(of: "#") : nil) { line = String(line[..<hash.lowerBound]) }
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty, line.trimmingCharacters(in: .whitespaces) != "---" else { continue }
            guard !line.hasPrefix(" "), !line.hasPrefix("\t"), let colon = line.firstIndex(of: ":") else {
                throw ValidationError("--config \(path):\(number + 1): expected `option: value`, got \"\(raw)\"")
            }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                let inner = String(value.dropFirst().dropLast())
                entries.append((key, .text(first == "'" ? inner.replacingOccurrences(of: "''", with: "'") : inner)))
                continue
            }
            if value.hasPrefix("["), value.hasSuffix("]") {
                value = value.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ",")
            }
            switch value {
            case "", "null", "~": entries.append((key, nil))
            case "true": entries.append((key, .flag(true)))
            case "false": entries.append((key, .flag(false)))
            default: entries.append((key, .text(value)))
            }
        }
        return entries
    }

    /// The YAML that runs `arguments` (a `train` command line, `--config` already expanded)
    /// again: its positional data folder as `data`, each option as `name: value`, a flag as
    /// `name: true`, each once with the value that took effect (the last); `--resume` is left out.
    static func yaml(reproducing arguments: [String]) -> String {
        var entries: [(name: String, value: String)] = []
        func set(_ name: String, _ value: String) {
            if let index = entries.firstIndex(where: { $0.name == name }) { entries[index].value = value } else { entries.append((name, value)) }
        }
        var index = arguments.first == "train" ? 1 : 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument != "--" else {
                set("data", quoted(argument))
                continue
            }
            var name = String(argument.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else if index < arguments.count, !arguments[index].hasPrefix("--") || Double(arguments[index]) != nil {
                value = arguments[index]
                index += 1
            }
            guard !["resume", "config"].contains(name) else { continue }
            set(name, value.map(quoted) ?? "true")
        }
        let header = "# headroom train --config args.yaml reruns this run (options on the command line override these)."
        return ([header] + entries.map { "\($0.name): \($0.value)" }).joined(separator: "\n") + "\n"
    }

    private static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && ["true", "false", "null", "~"].allSatisfy { $0 != value }
            && value.allSatisfy { $0.isLetter || $0.isNumber || "/._,:-+@".contains($0) } && !value.hasPrefix("[")
        return plain ? value : "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
