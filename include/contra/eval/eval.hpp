// contra/eval/eval.hpp — evaluation of CLIP embeddings: zero-shot classification, retrieval,
// linear probes, and the classification metrics they report.
#pragma once
#include "linear_probe.hpp"  // defines: eval::LinearProbe, LinearProbeOptions, LinearProbeObjective, ProbeSolver
#include "metrics.hpp"       // defines: eval::argmax_rows, topk_accuracy, ConfusionMatrix, Label
#include "retrieval.hpp"     // defines: eval::retrieval_metrics, RetrievalResult, recall_at_k
#include "zero_shot.hpp"     // defines: eval::class_embeddings, zero_shot_logits, zero_shot_classifier,
                             //          encode_texts, encode_images, tokenize_prompts
