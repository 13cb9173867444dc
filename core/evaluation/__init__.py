"""The paper's evaluation: accuracy under attack, gate AUPRC, risk, t-SNE."""
