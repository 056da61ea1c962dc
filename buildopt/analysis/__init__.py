"""Stage 5, analysis: variants compared and explained, budgets evaluated, statistics."""
