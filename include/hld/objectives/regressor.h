// The hint regressor f_reg mapping student hidden states (d_S) to the teacher's width (d_T):
// linear W_R (HLDC), a one-hidden-layer MLP with expansion e·d_S (HLDF, the paper's choice), or a
// gated MLP. No biases, like the student's own projections.
#pragma once

#include <torch/torch.h>

#include "hld/config/experiment.h"

namespace hld::objectives {

class RegressorImpl : public torch::nn::Module {
 public:
  RegressorImpl(config::RegressorKind kind, int64_t d_student, int64_t d_teacher, double expansion);
  torch::Tensor forward(const torch::Tensor& h_NxDs);
  int64_t num_params() const;

 private:
  config::RegressorKind kind_;
  torch::nn::Linear proj{nullptr}, up{nullptr}, gate{nullptr}, down{nullptr};
};
TORCH_MODULE(Regressor);

}  // namespace hld::objectives
