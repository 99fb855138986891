#include "conf/security_values.hpp"

#include <algorithm>
#include <cctype>

namespace icegate::conf {

std::string_view to_string(DigestAlgorithm a) {
  return a == DigestAlgorithm::sha256 ? "SHA-256" : "MD5";
}

Expected<std::vector<DigestAlgorithm>, std::string> parse_digest_algorithms(std::string_view text) {
  std::vector<DigestAlgorithm> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == ',' || text[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != '\t') ++j;
    std::string word(text.substr(i, j - i));
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    DigestAlgorithm a;
    if (word == "MD5") {
      a = DigestAlgorithm::md5;
    } else if (word == "SHA-256") {
      a = DigestAlgorithm::sha256;
    } else {
      return unexpected("\"" + std::string(text.substr(i, j - i)) +
                        "\" is not a digest algorithm (MD5, SHA-256)");
    }
    if (std::find(out.begin(), out.end(), a) != out.end()) {
      return unexpected("\"" + std::string(to_string(a)) + "\" is listed twice");
    }
    out.push_back(a);
    i = j;
  }
  if (out.empty()) return unexpected(std::string("needs at least one of MD5, SHA-256"));
  return out;
}

Expected<std::string, std::string> parse_hex_digest(std::string_view text, std::size_t bytes) {
  if (text.size() != bytes * 2) {
    return unexpected("must be " + std::to_string(bytes * 2) + " hex digits, not " +
                      std::to_string(text.size()) + " (icegate passwd prints it)");
  }
  std::string out(text);
  for (char& c : out) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return unexpected(std::string("must be hex digits only (icegate passwd prints it)"));
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace icegate::conf
