#include "services/dataset/token_estimate.h"

#include <cmath>
#include <cstddef>

namespace ethscan::dataset {

const char kTokenCountingMethod[] =
    "estimate-v1, not an exact count: no tokenizer vocabulary is available offline, so tokens "
    "are estimated from a cl100k/o200k-like pre-tokenisation (words, digit groups of up to 3, "
    "symbol runs, white space; hex strings at about 2 characters per token) plus the OpenAI "
    "cookbook's overhead of 3 tokens per message, 1 per name and 3 per example; typically "
    "within 15 % of the real count";

namespace {

enum class PieceKind { kContraction, kLetters, kDigits, kSymbols, kSpace };

bool IsAsciiLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// UTF-8 bytes of non-ASCII characters count as letters.
bool IsLetter(unsigned char c) { return IsAsciiLetter(c) || c >= 0x80; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsNewline(unsigned char c) { return c == '\r' || c == '\n'; }
bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || IsNewline(c);
}
bool IsSymbol(unsigned char c) { return !IsSpace(c) && !IsLetter(c) && !IsDigit(c); }
bool IsHexLetter(unsigned char c) { return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
unsigned char Lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

// Length of the contraction at `i` ("'s", "'ll", …), or 0.
size_t ContractionLength(absl::string_view text, size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const unsigned char a = Lower(text[i + 1]);
  if (i + 2 < text.size()) {
    const unsigned char b = Lower(text[i + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  return 0;
}

// Splits `text` into pieces (step 2) and calls `emit(piece, kind, start)` for each.
template <typename Emit>
void Scan(absl::string_view text, Emit emit) {
  const size_t n = text.size();
  size_t i = 0;
  auto at = [&text](size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < n) {
    const unsigned char c = at(i);
    size_t end = i;
    PieceKind kind;
    if (size_t length = ContractionLength(text, i); length > 0) {
      end = i + length;
      kind = PieceKind::kContraction;
    } else if (IsLetter(c) || (!IsDigit(c) && !IsNewline(c) && i + 1 < n && IsLetter(at(i + 1)))) {
      end = IsLetter(c) ? i : i + 1;
      while (end < n && IsLetter(at(end))) ++end;
      kind = PieceKind::kLetters;
    } else if (IsDigit(c)) {
      while (end < n && end < i + 3 && IsDigit(at(end))) ++end;
      kind = PieceKind::kDigits;
    } else if (IsSymbol(c) || (c == ' ' && i + 1 < n && IsSymbol(at(i + 1)))) {
      end = c == ' ' ? i + 1 : i;
      while (end < n && IsSymbol(at(end))) ++end;
      while (end < n && IsNewline(at(end))) ++end;
      kind = PieceKind::kSymbols;
    } else {
      // White space: up to its last line break, else all of it but the last character when
      // something follows (that character then leads the next piece).
      size_t run_end = i;
      size_t last_newline = n;
      while (run_end < n && IsSpace(at(run_end))) {
        if (IsNewline(at(run_end))) last_newline = run_end;
        ++run_end;
      }
      if (last_newline != n) {
        end = last_newline + 1;
      } else if (run_end == n || run_end - i == 1) {
        end = run_end;
      } else {
        end = run_end - 1;
      }
      kind = PieceKind::kSpace;
    }
    emit(text.substr(i, end - i), kind, i);
    i = end;
  }
}

// Estimated tokens of one piece (step 3). `start` is its offset in `text`.
double PieceTokens(absl::string_view text, absl::string_view piece, PieceKind kind, size_t start) {
  switch (kind) {
    case PieceKind::kContraction:
    case PieceKind::kDigits:
      return 1;
    case PieceKind::kSpace:
      return 1 + static_cast<double>((piece.size() - 1) / 16);
    case PieceKind::kSymbols: {
      size_t symbols = 0;
      for (char c : piece) symbols += IsSymbol(static_cast<unsigned char>(c)) ? 1 : 0;
      return std::ceil(static_cast<double>(symbols) / 3);
    }
    case PieceKind::kLetters:
      break;
  }
  size_t offset = 0;
  double tokens = 0;
  if (!IsLetter(static_cast<unsigned char>(piece[0]))) {
    offset = 1;
    if (piece[0] != ' ' && piece[0] != '\t') tokens += 0.5;
  }
  size_t ascii = 0;
  size_t other = 0;
  bool hex = true;
  for (size_t k = offset; k < piece.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(piece[k]);
    if (c < 0x80) {
      ++ascii;
      hex = hex && IsHexLetter(c);
    } else {
      hex = false;
      // Count characters, not bytes: continuation bytes are 10xxxxxx.
      if ((c & 0xC0) != 0x80) ++other;
    }
  }
  const size_t letters_start = start + offset;
  const size_t letters_end = start + piece.size();
  const bool next_to_digit =
      (letters_start > 0 && IsDigit(static_cast<unsigned char>(text[letters_start - 1]))) ||
      (letters_end < text.size() && IsDigit(static_cast<unsigned char>(text[letters_end])));
  if (ascii > 0) {
    if (hex && next_to_digit) {
      tokens += std::ceil(static_cast<double>(ascii) / 3);
    } else if (ascii <= 8) {
      tokens += 1;
    } else {
      tokens += 1 + static_cast<double>(ascii - 8) / 4;
    }
  }
  return tokens + static_cast<double>(other);
}

}  // namespace

std::vector<std::string> PreTokenize(absl::string_view text) {
  std::vector<std::string> pieces;
  Scan(text, [&pieces](absl::string_view piece, PieceKind, size_t) { pieces.emplace_back(piece); });
  return pieces;
}

uint64_t EstimateTextTokens(absl::string_view text) {
  if (text.empty()) return 0;
  double total = 0;
  Scan(text, [&total, text](absl::string_view piece, PieceKind kind, size_t start) {
    total += PieceTokens(text, piece, kind, start);
  });
  const auto rounded = static_cast<uint64_t>(std::llround(total));
  return rounded == 0 ? 1 : rounded;
}

uint64_t EstimateMessageTokens(const ChatMessage& message) {
  uint64_t tokens =
      kTokensPerMessage + EstimateTextTokens(message.role) + EstimateTextTokens(message.content);
  if (!message.name.empty()) tokens += kTokensPerName + EstimateTextTokens(message.name);
  return tokens;
}

uint64_t EstimateExampleTokens(const std::vector<ChatMessage>& messages) {
  uint64_t tokens = kTokensPerExamplePriming;
  for (const ChatMessage& message : messages) tokens += EstimateMessageTokens(message);
  return tokens;
}

}  // namespace ethscan::dataset
