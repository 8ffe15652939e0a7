"""Which tests make the fast tier (`make test`) and which only the full tier (`make test-full`).

The fast tier is what a developer runs constantly: the model, the checkers, one Verilator build
(the interactive top), and a sample of everything else: the first case of each slow parametrized
test.
The full tier is everything (CI runs both). Nothing is dropped, only moved; the tier of a test is
decided here, from measured durations (`pytest --durations`), not in the test files.
"""

# Whole modules that need a cluster, board tools or many simulator processes.
FULL_MODULES = {"tb/flows/test_cluster.py"}  # paths below tests/

# Single tests of the full tier: each builds another top (program mode, C++ harness, bitstream),
# runs a whole regression, or waits out a bound.
FULL_TESTS = {
    "test_program_mode_catches_an_rtl_bug",
    "test_cpp_harness_campaign_and_a_bug",
    "test_verilator_program_mode_gives_the_interactive_table",
    "test_program_mode_invariants_catch_a_bug_the_reference_shares",
    "test_await_that_never_fires_is_an_error",
    "test_a_damaged_cached_build_is_rebuilt",
    "test_model_and_rtl_share_one_cycle_bound",
    "test_icebreaker_bitstream_meets_timing",
    "test_the_softcore_soak_core_fits_the_icebreaker_and_meets_timing",
    "test_bug_variants_change_the_netlist_and_unknown_bugs_are_refused",
    "test_small_regression_end_to_end",
    "test_ctrl_c_during_a_regression_keeps_every_finished_job",
    "test_formal_stage_holds_on_the_original_and_names_the_property_a_mutant_breaks",
    "test_library_and_random_campaign_give_the_interactive_trace",
    "test_an_rtl_defect_fails_the_softcore_run_on_the_hardware_check",
    "test_a_firmware_defect_fails_on_the_software_check",
    "test_bench_workload_gives_the_per_cycle_rows",
    "test_every_library_scenario_runs_on_the_firmware",
    "test_soak_gives_the_spec_signs_on_the_virtual_board",
    "test_a_module_that_loses_the_fix_fails_the_fixed_soak",
    "test_soak_gives_the_spec_signs_in_simulation_under_cocotb",
    "test_out_is_one_format_in_every_mode",
    "test_any_subset_of_expect_is_judged_in_every_mode",
    "test_the_soak_on_the_simulator_leaves_waves_that_open",
    "test_fusesoc_lints_the_generated_rtl",
    "test_the_harness_gives_the_cocotb_rows_on_the_library",
    "test_the_virtual_board_passes_nmi_seamret_and_a_firmware_defect_fails_it_as_on_the_harness",
    "test_a_defect_of_the_hardware_player_fails_on_its_replay",
    "test_the_coverage_build_measures_a_run_on_the_amaranth_lines",
    "test_the_wheel_holds_every_package_and_data_file",
    "test_a_failing_regression_is_shown_in_the_browser",
    "test_a_softcore_regression_runs_the_firmware_and_a_firmware_defect_fails_its_jobs",
    "test_event_driven_softcore_gives_the_per_cycle_rows",
    "test_a_wake_that_misses_the_cpu_is_caught_where_the_bench_sleeps_on_it",
    "test_a_run_that_does_not_finish_ends_with_the_per_cycle_row",
}


# Slow parametrized tests: the first case stays in the fast tier as the sample, the rest are full.
SAMPLED = {
    "test_program_mode_checks_the_invariants",
    "test_model_mutants_are_killed",
    "test_software_mutants_fail_the_users_command",
    "test_property_proves_unbounded",
    "test_mutant_fails_its_property_with_a_counterexample",
    "test_directed_tests_pass",
    "test_random_seeds_pass_and_repeat",
    "test_rtl_timing_and_blocking_defects_fail_the_users_command",
    "test_a_folder_of_scenarios_runs_as_one_table_and_a_wrong_expect_fails_in_every_mode",
    "test_event_driven_gives_the_per_cycle_rows",
    "test_every_rtl_defect_fails_the_hardware_check_in_softcore_mode",
    "test_the_deepest_nesting_fits_the_stack_kept_free",
    "test_a_failure_leads_to_its_edge_in_the_waves",
}


def is_full(module: str, name: str, callspec_index: int | None) -> bool:
    """``module``: the test file's path below tests/; ``callspec_index``: the position of a
    parametrized case among its test's cases (None if not parametrized)."""
    return module in FULL_MODULES or name in FULL_TESTS or (name in SAMPLED and bool(callspec_index))
