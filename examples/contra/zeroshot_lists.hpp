// The class names and prompt templates shipped in data/zeroshot/, compiled into the program:
// zeroshot_lists.cpp is generated from those files by examples/CMakeLists.txt.
//   imagenet_classnames.txt  the 1,000 ImageNet class names (OpenAI's cleaned names, open_clip's IMAGENET_CLASSNAMES)
//   imagenet_templates.txt   the CLIP paper's 80 ImageNet templates (open_clip's OPENAI_IMAGENET_TEMPLATES)
//   cifar10_classnames.txt, cifar100_classnames.txt, cifar_templates.txt   CLIP's data/prompts.md
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace contra::cli {

struct BuiltinList {
    std::string_view file;  // "imagenet_classnames.txt"
    std::string_view text;  // the file's bytes
};

// builtin_lists(): every file of data/zeroshot/, by file name.
const std::vector<BuiltinList>& builtin_lists();

// builtin_list(file): the text of data/zeroshot/<file>.  throws: Error listing the files there are.
std::string_view builtin_list(std::string_view file);

}  // namespace contra::cli
