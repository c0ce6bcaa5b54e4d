/// Options of torchvision's reference `train.py` and timm's `train.py` that Headroom spells
/// otherwise or does not have: a user who types one hears which of ours it is, where
/// ArgumentParser would guess by spelling ("--amp" → "Did you mean '--val'?").
enum ForeignOptions {
    /// The foreign option, the programs that take it, and what to use here.
    static let table: [(option: String, from: String, instead: String)] = [
        ("--amp", "torchvision's and timm's train.py", "--precision bf16 (or fp16 on a GPU); auto picks one"),
        ("--clip-grad-norm", "torchvision's train.py", "--grad-clip"),
        ("--clip-grad", "timm's train.py", "--grad-clip"),
        ("--wd", "torchvision's train.py", "--weight-decay"),
        ("--lr-scheduler", "torchvision's train.py", "--lr-schedule (constant, cosine or onecycle)"),
        ("--sched", "timm's train.py", "--lr-schedule (constant, cosine or onecycle)"),
        ("--lr-warmup-epochs", "torchvision's train.py", "--warmup-epochs"),
        ("--warmup-epochs-lr", "timm's train.py", "--warmup-epochs"),
        ("--opt", "timm's train.py", "--optimizer (sgd, adam or adamw)"),
        ("--img-size", "timm's train.py", "--image-size"),
        ("--train-crop-size", "torchvision's train.py", "--image-size"),
        ("--val-crop-size", "torchvision's train.py", "--val-image-size"),
        ("--pretrained", "timm's train.py", "--weights imagenet"),
        ("--data-path", "torchvision's train.py", "the data folder as the first argument: headroom train DATA"),
        ("--output-dir", "torchvision's train.py", "--out"),
        ("--output", "timm's train.py", "--out"),
        ("--world-size", "torchvision's train.py", "--nproc-per-node (or torchrun, whose environment Headroom reads)"),
        ("--dist-url", "torchvision's train.py", "--master-addr and --master-port"),
        ("--mean", "timm's train.py", "--normalize MEAN,…/STD,… (or data: measured on the training set)"),
        ("--std", "timm's train.py", "--normalize MEAN,…/STD,… (or data: measured on the training set)"),
    ]

    /// What to say about the first foreign option among `arguments` (before a bare `--`), if any.
    static func message(for arguments: [String]) -> String? {
        for argument in arguments.prefix(while: { $0 != "--" }) {
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if let entry = table.first(where: { $0.option == name }) {
                return "\(name) is an option of \(entry.from); Headroom's: \(entry.instead)"
            }
        }
        return nil
    }
}
