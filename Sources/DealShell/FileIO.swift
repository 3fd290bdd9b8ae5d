import DealCore
import Foundation

#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

/// Reading and writing files safely, in folders other people can write to
/// (a shared sessions folder): only regular files are read, a temporary file
/// is created exclusively and never through a link, and a save checks and
/// replaces its file under a lock that other dealsh processes respect.
enum FileIO {
  /// Which file a path named when it was read or written: a file replaced
  /// (renamed over) or rewritten in place has another identity.
  struct Identity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int

    init(_ st: stat) {
      device = UInt64(st.st_dev)
      inode = UInt64(st.st_ino)
      size = Int(st.st_size)
      mtimeSeconds = Int(st.st_mtim.tv_sec)
      mtimeNanoseconds = Int(st.st_mtim.tv_nsec)
    }

    /// The identity of the file at `path` now (following a link), or nil.
    init?(path: String) {
      var st = stat()
      guard stat(path, &st) == 0 else { return nil }
      self.init(st)
    }
  }

  static func errorText() -> String { String(cString: strerror(errno)) }

  /// What kind of file a mode is, for messages.
  static func kindName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "a folder"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFSOCK: return "a socket"
    case S_IFCHR, S_IFBLK: return "a device"
    case S_IFLNK: return "a symbolic link"
    default: return "not a regular file"
    }
  }

  /// Reads a whole text file, refusing files larger than `limit` bytes.
  /// Session files must be regular files (a FIFO would block the reader
  /// forever); scripts may also come from a pipe (`regularOnly: false`).
  static func read(_ path: String, limit: Int = SessionCodec.maxBytes, regularOnly: Bool = true) throws(DealError) -> String {
    try readFile(path, limit: limit, regularOnly: regularOnly).text
  }

  /// Reads a whole text file and says which file it was: the identity is
  /// taken from the descriptor that was read, before reading, so a file
  /// replaced while it is read or decoded is later seen as changed.
  static func readFile(_ path: String, limit: Int = SessionCodec.maxBytes, regularOnly: Bool = true) throws(DealError) -> (text: String, identity: Identity?) {
    // O_NONBLOCK: opening a FIFO with no writer must not block; it is
    // refused below once fstat says what it is.
    let fd = open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
    guard fd >= 0 else { throw DealError(.file, "cannot read '\(path)': \(errorText())") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw DealError(.file, "cannot read '\(path)': \(errorText())") }
    let type = st.st_mode & S_IFMT
    if type == S_IFDIR { throw DealError(.file, "'\(path)' is a folder, not a file") }
    let regular = type == S_IFREG
    if regularOnly && !regular {
      throw DealError(.file, "'\(path)' is \(kindName(st.st_mode)), not a regular file", hint: "a session is read only from a regular file")
    }
    if regular && Int(st.st_size) > limit {
      throw DealError(.file, "'\(path)' is too large (\(st.st_size) bytes; the limit is \(limit >> 20) MiB)")
    }
    if regularOnly {
      let flags = fcntl(fd, F_GETFL)
      if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }
    // One read loop for files and pipes alike (not a mapping: a file
    // truncated while mapped would crash the reader with SIGBUS); the limit
    // holds for a pipe too, whose size is not known in advance.
    var bytes: [UInt8] = []
    bytes.reserveCapacity(regular ? Int(st.st_size) + 1 : 1 << 16)
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw DealError(.file, "cannot read '\(path)': \(errorText())")
      }
      if n == 0 { break }
      bytes.append(contentsOf: chunk[0..<n])
      if bytes.count > limit { throw DealError(.file, "'\(path)' is too large (the limit is \(limit >> 20) MiB)") }
    }
    var after = stat()
    if regular, fstat(fd, &after) == 0, Identity(after) != Identity(st) || bytes.count != Int(st.st_size) {
      throw DealError(.file, "'\(path)' changed while it was being read", hint: "try again once whoever writes it is done")
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw DealError(.file, "cannot read '\(path)': not UTF-8 text")
    }
    return (text, regular ? Identity(st) : nil)
  }

  /// The folder and file name of a path to write, refusing paths that name
  /// a folder ('x/', './', '..').
  static func splitForWriting(_ path: String) throws(DealError) -> (folder: String, name: String) {
    let hint = "give a file name, e.g. 'save deal' or 'save folder/deal.deal'"
    guard !path.isEmpty else { throw DealError(.usage, "no file name given", hint: hint) }
    guard !path.utf8.contains(0) else { throw DealError(.usage, "a file name cannot contain a NUL character") }
    let slash = path.lastIndex(of: "/")
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    if name.isEmpty || name == "." || name == ".." {
      throw DealError(.usage, "'\(path)' names a folder, not a file", hint: hint)
    }
    guard let slash else { return (".", name) }
    let folder = String(path[..<slash])
    return (folder.isEmpty ? "/" : folder, name)
  }

  /// The prefix of the temporary files a save of `name` creates:
  /// `.NAME.tmp-PID-RANDOM`.
  static func temporaryPrefix(_ name: String) -> String { ".\(name).tmp-" }

  /// Removes temporary files of `name` in `folder` left by saves whose
  /// process is gone (killed while writing a large session). Only the
  /// user's own regular files or links are removed, never followed.
  static func removeStaleTemporaries(folder: String, name: String) {
    let prefix = temporaryPrefix(name)
    guard let dir = opendir(folder) else { return }
    defer { closedir(dir) }
    while let entry = readdir(dir) {
      let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard entryName.hasPrefix(prefix) else { continue }
      let rest = entryName.dropFirst(prefix.count)
      guard let pid = Int32(rest.prefix { $0 != "-" }), pid > 0 else { continue }
      if kill(pid, 0) == 0 || errno != ESRCH { continue }  // still running, or not ours to ask
      let full = folder + "/" + entryName
      var st = stat()
      guard lstat(full, &st) == 0, st.st_uid == getuid() else { continue }
      let type = st.st_mode & S_IFMT
      if type == S_IFREG || type == S_IFLNK { unlink(full) }
    }
  }

  /// Creates the temporary file for a save exclusively (`O_EXCL`, and
  /// `O_NOFOLLOW`: a link planted at the name is never followed), under a
  /// name no one can predict.
  static func createTemporary(
    folder: String, name: String, random: () -> UInt64 = { var g = SystemRandomNumberGenerator(); return g.next() }
  ) throws(DealError) -> (fd: Int32, path: String) {
    for _ in 0..<32 {
      let tmp = folder + "/" + temporaryPrefix(name) + "\(getpid())-" + String(random() & 0xFFFF_FFFF_FFFF, radix: 16)
      let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      if fd >= 0 { return (fd, tmp) }
      if errno != EEXIST { throw DealError(.file, "cannot write in '\(folder)': \(errorText())") }
    }
    throw DealError(.file, "cannot create a temporary file in '\(folder)' (every name tried exists)")
  }

  /// How long a save waits for another dealsh's save in the same folder.
  static let lockWaitSeconds = 10.0

  /// Runs `body` holding the folder's save lock: an advisory `flock` on the
  /// folder that every dealsh save takes from its check of the file on
  /// disk through the rename, so two saves never interleave.
  static func withFolderLock<T>(_ folder: String, _ body: () throws(DealError) -> T) throws(DealError) -> T {
    let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dfd >= 0 else { throw DealError(.file, "cannot open the folder '\(folder)': \(errorText())") }
    defer { close(dfd) }  // closing releases the lock
    let deadline = Date().addingTimeInterval(lockWaitSeconds)
    while flock(dfd, LOCK_EX | LOCK_NB) != 0 {
      guard errno == EWOULDBLOCK || errno == EINTR else { break }  // a folder that cannot be locked: go on unlocked
      if Date() > deadline {
        throw DealError(
          .file, "another save in '\(folder)' has held its lock for more than \(Int(lockWaitSeconds)) s; nothing was written",
          hint: "try again; the session in memory is unchanged")
      }
      usleep(2000)
    }
    return try body()
  }

  /// Writes `bytes` to `path` atomically: a temporary file in the same
  /// folder, fsync, then — under the folder's save lock, after `check`
  /// passes — rename over the target and fsync of the folder. A reader
  /// sees the old file or the new one, never a part; the temporary file is
  /// removed on every failure. Returns the identity of the file written.
  @discardableResult
  static func writeAtomically(
    _ bytes: [UInt8], to path: String, check: () throws(DealError) -> Void = {}
  ) throws(DealError) -> Identity {
    let result = bytes.withUnsafeBytes { buf -> Result<Identity, DealError> in
      do throws(DealError) { return .success(try writeAtomically(buf, to: path, check: check)) } catch { return .failure(error) }
    }
    return try result.get()
  }

  static func writeAtomically(
    _ bytes: UnsafeRawBufferPointer, to path: String, check: () throws(DealError) -> Void = {}
  ) throws(DealError) -> Identity {
    let (folder, name) = try splitForWriting(path)
    var st = stat()
    if lstat(folder, &st) != 0 {
      do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw DealError(.file, "cannot create folder '\(folder)': \(error.localizedDescription)")
      }
    }
    if lstat(path, &st) == 0 {
      let type = st.st_mode & S_IFMT
      if type == S_IFDIR { throw DealError(.file, "'\(path)' is a folder, not a file") }
      if type != S_IFREG && type != S_IFLNK {
        throw DealError(.file, "'\(path)' is \(kindName(st.st_mode)), not a regular file; nothing was written")
      }
    }
    removeStaleTemporaries(folder: folder, name: name)
    let (fd, tmp) = try createTemporary(folder: folder, name: name)
    var open = true
    var renamed = false
    defer {
      if open { close(fd) }
      if !renamed { unlink(tmp) }
    }
    func fail(_ why: String) -> DealError { DealError(.file, "cannot write '\(path)': \(why); nothing was written") }
    if let base = bytes.baseAddress {
      var off = 0
      while off < bytes.count {
        let n = write(fd, base + off, bytes.count - off)
        if n < 0 {
          if errno == EINTR { continue }
          throw fail(errorText())
        }
        off += n
      }
    }
    guard fsync(fd) == 0 else { throw fail(errorText()) }
    var written = stat()
    guard fstat(fd, &written) == 0 else { throw fail(errorText()) }
    open = false
    guard close(fd) == 0 else { throw fail(errorText()) }
    try withFolderLock(folder) { () throws(DealError) in
      try check()
      guard rename(tmp, path) == 0 else { throw fail(errorText()) }
      renamed = true
    }
    let dfd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dfd >= 0 {
      fsync(dfd)
      close(dfd)
    }
    return Identity(written)
  }

  /// What a file looked like when it was read or written, to tell later
  /// whether someone else changed it.
  struct DiskState: Equatable {
    var identity: Identity
    var fingerprint: UInt64
    /// The `content_hash` of what was read or written (nil: none known).
    var contentHash: String? = nil
  }

  /// Whether anything is at `path` (a link counts, even a dangling one).
  static func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }

  /// The `content_hash` near the top of a session file's text.
  static func contentHash(in bytes: [UInt8]) -> String? {
    let head = bytes.prefix(4096)
    guard let r = String(decoding: head, as: UTF8.self).range(of: "\"content_hash\": \"") else { return nil }
    let h = String(decoding: head, as: UTF8.self)[r.upperBound...].prefix(SessionCodec.contentHashPrefix.count + 16)
    return h.count == SessionCodec.contentHashPrefix.count + 16 ? String(h) : nil
  }

  /// Whether `path` still holds what `known` describes: the same file
  /// (device, inode, size and modification time), else the same content.
  static func unchanged(_ path: String, since known: DiskState) -> Bool {
    guard let now = Identity(path: path) else { return false }
    if now == known.identity { return true }
    guard let text = try? read(path) else { return false }
    return fingerprint(text) == known.fingerprint
  }

  /// A stable 64-bit fingerprint of a text's bytes (FNV-1a over 8-byte
  /// words, then over the tail): cheap enough for multi-megabyte files.
  static func fingerprint(_ text: String) -> UInt64 {
    var text = text
    return text.withUTF8 { fingerprint(UnsafeRawBufferPointer($0)) }
  }

  static func fingerprint(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { fingerprint($0) } }

  static func fingerprint(_ raw: UnsafeRawBufferPointer) -> UInt64 {
    var h = SessionCodec.FNV64()
    h.add(raw)
    return h.value ^ UInt64(raw.count)
  }
}
